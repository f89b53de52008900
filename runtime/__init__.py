"""obsgen's bundled runtime: exporters, heartbeat writer, scenario simulator and sandbox.

Driven by the same spec model as the generator (see ../shared/DESIGN.md, "Real parts").
Nothing is implemented here yet; the package exists so the distribution's layout is final.
"""

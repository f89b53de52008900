"""obsgen's bundled runtime: the exporters, heartbeat writer, scenario simulator, DR snapshots and
the loopback sandbox (Prometheus, Alertmanager, node_exporter, blackbox_exporter) that run the
generated rules for real.

It reads the same spec model as the generator and depends on it, never the other way round; the
`obsgen` command layer (package `obsgen`) composes the two.
"""

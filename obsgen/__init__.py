"""obsgen's command layer: the `obsgen` command line, above the generator and the runtime.

The generator (the compiler) depends on neither of the others; the runtime builds on the
generator; this package composes the commands of both. Nothing imports it but the program
entries: the `obsgen` script, `python -m obsgen` and `python -m generator`.
"""

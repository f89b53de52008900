"""`python -m obsgen …`: the `obsgen` command line."""

from obsgen.cli import main

main(prog_name="obsgen")

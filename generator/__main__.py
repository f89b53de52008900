"""`python -m generator …`: the `obsgen` command line, as the tests and the sandbox run it
(runtime/stack.py starts the runtime with `python -m generator run`).

The command line lives in the command layer, obsgen/, above the generator and the runtime. It is
imported here, in the program entry, only when run: no library import of the generator ever
reaches obsgen/ or runtime/.
"""


def main() -> None:
    from obsgen.cli import main as obsgen

    obsgen(prog_name="obsgen")


if __name__ == "__main__":
    main()

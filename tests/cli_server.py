"""A fork server for the tests' command-line runs (see conftest.obsgen).

Every test that runs `obsgen …` used to start a fresh interpreter, which spends about 0.4 s
importing the command line, pydantic's models and the compilers before doing a few
milliseconds of work; the test suite runs it some 550 times. This server imports all of that
once, then forks a child for each run: the child changes to the run's working directory,
takes the run's environment as its whole environment, writes to the run's own stdout and
stderr files, runs the command line exactly as `python -m generator` does, and exits with its
exit code (a crash prints its traceback to stderr and exits 1, as an interpreter does). The
server itself never runs a command, so every child starts from the same untouched state.

Protocol, one request at a time on stdin/stdout (JSON lines): the request
`{"args": [...], "cwd": ..., "env": {...}, "stdout": path, "stderr": path}` is answered with
`{"pid": N}` at once and `{"status": S}` (os.waitpid's status) when the child has exited.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback

MAIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "generator", "__main__.py")
"""sys.argv[0] of `python -m generator`."""


def preload() -> None:
    """What every command imports; nothing here runs a command or reads the environment."""
    import generator.pipeline  # noqa: F401
    import obsgen.cli  # noqa: F401


def run_child(request: dict) -> None:
    """In the forked child: become the run, run the command line, exit with its code."""
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
            os.close(target)
        sys.argv = [MAIN, *request["args"]]
        from obsgen.cli import main

        main(prog_name="obsgen", args=request["args"])
        code = 0
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            code = exit_.code or 0
        else:
            print(exit_.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def serve() -> None:
    preload()
    requests = os.fdopen(os.dup(0), "r")
    answers = os.dup(1)

    def answer(message: dict) -> None:
        os.write(answers, (json.dumps(message) + "\n").encode())

    answer({"ready": True})
    for line in requests:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            requests.close()
            os.close(answers)
            run_child(request)
        answer({"pid": pid})
        _, status = os.waitpid(pid, 0)
        answer({"status": status})


if __name__ == "__main__":
    serve()

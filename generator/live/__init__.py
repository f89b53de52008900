"""Commands that read a running Prometheus: `gate decide`, `gate watch` and `targets verify`.

HTTP goes through urllib only. The CLI imports this package lazily, so `obsgen --help` stays
fast; this module holds nothing but the exit codes, which the help text documents.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_GO = 0
EXIT_TARGETS_DOWN = 1
EXIT_USAGE = 2
EXIT_HOLD = 10
EXIT_ROLLBACK = 11
EXIT_NO_DATA = 12
EXIT_UNREACHABLE = 13
EXIT_INTERRUPTED = 130

"""Free loopback ports, for the sandbox's `--free-ports`, the DR rehearsal and the tests."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on right now (the kernel's pick; it may be taken again
    before it is bound, which a caller binding it reports as a port in use)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])

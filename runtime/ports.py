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


def port_free(listen: str, port: int) -> bool:
    """Whether a server could bind `listen:port` now. SO_REUSEADDR, as the runtime's servers
    set it: a port a stopped server left in TIME_WAIT counts as free."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((listen, port))
        except OSError:
            return False
    return True

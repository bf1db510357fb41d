"""Port allocation: binding is the reservation (probing and then binding races with other editors)."""

from __future__ import annotations

import errno
import socket

from tmuxclaude.errors import PortError

__all__ = ["bind_free_port", "bind_port", "kept", "release"]

HOST = "127.0.0.1"


def bind_port(port: int) -> socket.socket:
    """Bind and listen on 127.0.0.1:port (loopback only, never a wildcard address)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # A killed controller leaves its accepted connections in TIME_WAIT for a minute; without SO_REUSEADDR the
        # restarted controller could not re-serve the same port. On Linux this never lets two sockets listen on
        # one port (listen() below fails with EADDRINUSE), so the bind is still the reservation.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        # listen() is where some stacks report EADDRINUSE; do it now so the port is really ours.
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def bind_free_port(low: int, high: int, skip: set[int]) -> socket.socket:
    """The first port in [low, high] that has no lock file (``skip``) and binds."""
    for port in range(low, high + 1):
        if port in skip:
            continue
        try:
            return bind_port(port)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                continue
            raise PortError(f"cannot bind 127.0.0.1:{port}: {exc.strerror}") from exc
    raise PortError(f"no free port in {low}-{high} (ports.min / ports.max in the config)")


def kept(port: int) -> bool:
    """Without a port keeper no port was held while no controller ran."""
    return False


def release(port: int) -> None:
    """Nothing holds the port but the listening socket itself (closed by its server)."""

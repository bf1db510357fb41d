"""Who is at the other end of a socket, checked before we say anything to it. Stdlib only (the CLI uses it).

A unix socket's peer comes from SO_PEERCRED; a loopback TCP peer (a Neovim ``--listen 127.0.0.1:PORT``) from the
kernel's socket table, where the server side of our connection is listed with its owner's uid.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from typing import Any

from tmuxclaude.errors import InsecurePathError

__all__ = ["peer_uid", "require_own_peer"]

_PROC_TABLES = {socket.AF_INET: "/proc/net/tcp", socket.AF_INET6: "/proc/net/tcp6"}


def _hex_address(host: str, port: int) -> str:
    """An address as /proc/net/tcp{,6} spells it: the IP as 32-bit words in host order, then the port."""
    packed = ipaddress.ip_address(host.split("%", 1)[0]).packed
    words = struct.unpack(f"={len(packed) // 4}I", packed)
    return "".join(f"{w:08X}" for w in words) + f":{port:04X}"


def _tcp_peer_uid(sock: Any) -> int | None:
    table = _PROC_TABLES.get(sock.family)
    if table is None:
        return None
    local = _hex_address(*sock.getsockname()[:2])
    remote = _hex_address(*sock.getpeername()[:2])
    try:
        with open(table, encoding="ascii") as f:
            next(f, None)
            for line in f:
                fields = line.split()
                # The server's end of this very connection: its local address is our remote one and back.
                if len(fields) > 7 and fields[1] == remote and fields[2] == local:
                    return int(fields[7])
    except OSError:
        return None
    return None


def peer_uid(sock: Any) -> int | None:
    """The uid of the process serving ``sock`` (a connected socket), or None where the system cannot tell."""
    if sock.family == socket.AF_UNIX:
        option = getattr(socket, "SO_PEERCRED", None)
        if option is None:
            return None
        raw = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", raw)
        return int(uid)
    if sock.family in _PROC_TABLES:
        return _tcp_peer_uid(sock)
    return None


def require_own_peer(sock: Any, what: str) -> None:
    """Refuse a peer run by another user (root is trusted: it can read everything of ours anyway)."""
    uid = peer_uid(sock)
    if uid is not None and uid not in (os.getuid(), 0):
        raise InsecurePathError(f"{what} is served by uid {uid}, not by you; refusing to talk to it")

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

__all__ = ["peer_uid", "require_own_peer", "tcp_socket_uid"]

_PROC_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
_ESTABLISHED = 1
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 1
_NLMSG_ERROR = 2
_NO_COOKIE = 0xFFFFFFFF


def _mapped(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(host.split("%", 1)[0])


def _forms(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[tuple[int, bytes]]:
    """The (family, 16-byte address) forms a socket at ``addr`` may be listed under: an IPv4 peer of a
    dual-stack (``[::]``) socket is an IPv6 socket with an IPv4-mapped address."""
    if isinstance(addr, ipaddress.IPv6Address):
        forms: list[tuple[int, bytes]] = [(socket.AF_INET6, addr.packed)]
        if addr.ipv4_mapped is not None:
            forms.append((socket.AF_INET, addr.ipv4_mapped.packed.ljust(16, b"\0")))
        return forms
    return [(socket.AF_INET, addr.packed.ljust(16, b"\0")),
            (socket.AF_INET6, ipaddress.IPv6Address(b"\0" * 10 + b"\xff\xff" + addr.packed).packed)]  # fmt: skip


def tcp_socket_uid(own: tuple[str, int], other: tuple[str, int]) -> int | None:
    """The uid owning the ESTABLISHED TCP socket whose local end is ``own`` and remote end ``other``, asked
    of the kernel by exact lookup (sock_diag), else read from both /proc tables; None if it is not found,
    not established (a socket closed first reads as uid 0), or the system cannot tell: callers refuse None."""
    try:
        return _diag_uid(own, other)
    except OSError:
        return _proc_uid(own, other)


def _diag_uid(own: tuple[str, int], other: tuple[str, int]) -> int | None:
    local_forms, remote_forms = _forms(_mapped(own[0])), _forms(_mapped(other[0]))
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 4) as nl:  # NETLINK_SOCK_DIAG
        nl.settimeout(1.0)
        for (family, local), (family2, remote) in zip(local_forms, remote_forms, strict=True):
            assert family == family2
            sockid = (
                struct.pack(">HH", own[1], other[1]) + local + remote + struct.pack("=III", 0, _NO_COOKIE, _NO_COOKIE)
            )
            req = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + sockid
            nl.send(struct.pack("=IHHII", 16 + len(req), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, 1, 0) + req)
            data = nl.recv(8192)
            if len(data) < 16:
                continue
            _length, kind, _flags, _seq, _pid = struct.unpack_from("=IHHII", data)
            if kind == _NLMSG_ERROR:
                continue  # not in this family's table
            if kind != _SOCK_DIAG_BY_FAMILY or len(data) < 16 + 72:
                return None
            state = data[16 + 1]
            uid = struct.unpack_from("=I", data, 16 + 64)[0]
            return int(uid) if state == _ESTABLISHED else None
    return None


def _hex_forms(host: str, port: int) -> set[str]:
    """An address as /proc/net/tcp{,6} spells it (32-bit words in host order, then the port), in every form."""
    out = set()
    for family, packed in _forms(_mapped(host)):
        raw = packed[:4] if family == socket.AF_INET else packed
        words = struct.unpack(f"={len(raw) // 4}I", raw)
        out.add("".join(f"{w:08X}" for w in words) + f":{port:04X}")
    return out


def _proc_uid(own: tuple[str, int], other: tuple[str, int]) -> int | None:
    local, remote = _hex_forms(*own), _hex_forms(*other)
    for table in _PROC_TABLES:
        try:
            with open(table, encoding="ascii") as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 7 and fields[1] in local and fields[2] in remote:
                        return int(fields[7]) if int(fields[3], 16) == _ESTABLISHED else None
        except (OSError, ValueError):
            return None
    return None


def _tcp_peer_uid(sock: Any) -> int | None:
    """The server's end of this very connection: its local address is our remote one and back."""
    try:
        mine, theirs = sock.getsockname(), sock.getpeername()
    except OSError:
        return None
    return tcp_socket_uid((theirs[0], theirs[1]), (mine[0], mine[1]))


def peer_uid(sock: Any) -> int | None:
    """The uid of the process serving ``sock`` (a connected socket), or None where the system cannot tell."""
    if sock.family == socket.AF_UNIX:
        option = getattr(socket, "SO_PEERCRED", None)
        if option is None:
            return None
        raw = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", raw)
        return int(uid)
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        return _tcp_peer_uid(sock)
    return None


def require_own_peer(sock: Any, what: str) -> None:
    """Refuse a peer run by another user, failing closed: a unix socket's peer may be us or root (root can read
    everything of ours anyway); a TCP peer must be found established and ours (any doubt is a refusal)."""
    uid = peer_uid(sock)
    if sock.family == socket.AF_UNIX:
        if uid is not None and uid not in (os.getuid(), 0):
            raise InsecurePathError(f"{what} is served by uid {uid}, not by you; refusing to talk to it")
        return
    if uid != os.getuid():
        who = "an unknown user" if uid is None else f"uid {uid}"
        raise InsecurePathError(f"{what} is served by {who}, not by you; refusing to talk to it")

"""The pre-auth gate of the IDE servers: connections that have not yet sent an accepted upgrade request.

Any local process can open connections to an IDE port, and each costs the controller a file descriptor. Every
server's not-yet-judged connections are counted here, bounded per server and for the whole process, and a short
handshake timeout ends the silent ones, so a flood cannot starve a legitimate Claude's handshake
(docs/threat-model.md).
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from typing import Any

from websockets.asyncio.server import ServerConnection

from tmuxclaude.adapters.peercred import tcp_socket_uid

__all__ = [
    "HANDSHAKE_TIMEOUT",
    "LOOPBACK_HOSTS",
    "MAX_PENDING",
    "MAX_PENDING_PER_SERVER",
    "GatedConnection",
    "PreAuthGate",
    "gated_connection",
]

HANDSHAKE_TIMEOUT = 3.0
"""Seconds a connection may take to send its HTTP upgrade request (the CLI, on loopback, takes milliseconds)."""
MAX_PENDING_PER_SERVER = 128
MAX_PENDING = 256
"""Connections not judged yet (no request read), per server and for all servers of the process together: any
local process can open them, and each costs a descriptor (1,024 is a common limit)."""
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class PreAuthGate:
    """Every IDE server's connections still before their request, oldest first, bounded per server and in all.

    A flood cannot lock legitimate clients out by holding slots: when a bound is reached, the newcomer evicts
    the oldest connection that has sent nothing at all (a flood's), else the oldest one. Claude's CLI sends its
    request the moment it connects, so its handshake is judged within milliseconds of arriving.
    """

    def __init__(self, per_server: int = MAX_PENDING_PER_SERVER, total: int = MAX_PENDING) -> None:
        self.per_server = per_server
        self.total = total
        self.pending: dict[ServerConnection, list[Any]] = {}
        """Pending connection -> [server key, has sent bytes], oldest first."""
        self.by_server: Counter[int] = Counter()
        self.evicted = 0
        self.foreign = 0
        """Connections refused at accept: their peer is not our uid."""

    def admit(self, conn: ServerConnection, server: int) -> None:
        while self.by_server[server] >= self.per_server:
            self._evict([c for c, (key, _) in self.pending.items() if key == server])
        while len(self.pending) >= self.total:
            self._evict(list(self.pending))
        self.pending[conn] = [server, False]
        self.by_server[server] += 1

    def _evict(self, candidates: list[ServerConnection]) -> None:
        victim = next((c for c in candidates if not self.pending[c][1]), candidates[0])
        self.judged(victim)
        self.evicted += 1
        victim.transport.abort()

    def spoke(self, conn: ServerConnection) -> None:
        entry = self.pending.get(conn)
        if entry is not None:
            entry[1] = True

    def judged(self, conn: ServerConnection) -> None:
        entry = self.pending.pop(conn, None)
        if entry is not None:
            self.by_server[entry[0]] -= 1


def _from_own_uid(transport: asyncio.BaseTransport) -> bool:
    """The client's end of this connection belongs to our uid (the kernel's socket table says so); fail closed."""
    ours, theirs = transport.get_extra_info("sockname"), transport.get_extra_info("peername")
    if not ours or not theirs:
        return False
    return tcp_socket_uid((theirs[0], theirs[1]), (ours[0], ours[1])) == os.getuid()


class GatedConnection(ServerConnection):
    """A server connection that counts against its server's pre-auth gate until its request is judged."""

    gate: PreAuthGate
    server_key: int

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if not _from_own_uid(transport):
            # Another user's connection (or one whose owner cannot be told): refused before it holds a slot, so
            # no churn of theirs can evict a handshake of ours. Claude and hook.sh run as us.
            self.gate.foreign += 1
            transport.abort()  # type: ignore[attr-defined]
            return
        self.gate.admit(self, self.server_key)

    def data_received(self, data: bytes) -> None:
        self.gate.spoke(self)
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gate.judged(self)
        super().connection_lost(exc)


def gated_connection(gate: PreAuthGate, server_key: int) -> type[GatedConnection]:
    """The connection class one server's connections are made with: counted by ``gate`` under ``server_key``."""
    return type("IdeConnection", (GatedConnection,), {"gate": gate, "server_key": server_key})

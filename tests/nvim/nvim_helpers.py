"""Helpers shared by the Neovim adapter tests (imported by conftest and the test modules)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.waiting import aretry_until
from tmuxclaude.adapters.nvim import NvimBridge, NvimClient
from tmuxclaude.protocol.nvim_channel import NvimEvent, NvimRequest


@dataclass
class NvimProc:
    proc: subprocess.Popen[bytes]
    address: str
    workdir: Path


async def connect_when_ready(address: str, deadline: float = 10.0, **kwargs: Any) -> NvimClient:
    """Poll until Neovim listens (it creates the socket a little after starting), then connect."""

    async def connect() -> NvimClient | None:
        if not Path(address).exists():
            return None
        return await NvimClient.connect(address, **kwargs)

    return await aretry_until(connect, deadline, f"Neovim listening on {address}", retrying=(Exception,))


@dataclass
class Recorder:
    """Collects bridge events and lets a test wait for one that matches. Events and requests arrive decoded
    (protocol/nvim_channel.py) and are kept in their wire form: what the Lua shim sent, as checked by the codec."""

    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    replies: dict[str, Any] = field(default_factory=dict)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def on_event(self, event: NvimEvent) -> None:
        self.events.append(event.wire())
        self._changed.set()

    async def on_request(self, request: NvimRequest) -> Any:
        cmd = request.cmd
        self.requests.append((cmd, request.payload()))
        self._changed.set()
        reply = self.replies.get(cmd, "")
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def wait_for(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any]:
        """Return the first event (oldest first) matching pred, waiting up to timeout."""
        async with asyncio.timeout(timeout):
            while True:
                for ev in self.events:
                    if pred(ev):
                        return ev
                self._changed.clear()
                await self._changed.wait()

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]


async def attach_bridge(proc: NvimProc, recorder: Recorder, *, debounce_ms: int, requests: bool = True) -> NvimBridge:
    """Attach instance "i1" ("main") to ``proc`` once its socket answers; events (and, with ``requests``, the
    controller requests) go to ``recorder``."""
    # Wait for the socket first with a plain client, then attach.
    probe = await connect_when_ready(proc.address)
    await probe.close()
    return await NvimBridge.attach(
        proc.address,
        instance_id="i1",
        name="main",
        worktree=str(proc.workdir),
        on_event=recorder.on_event,
        on_request=recorder.on_request if requests else None,
        debounce_ms=debounce_ms,
    )

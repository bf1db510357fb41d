"""Stand-ins for the Neovim ports (controller/ports.py: NvimPort, NvimConnector) and an IDE server that records
what the Neovim link hands it. Unit tests only: the integration tests in tests/nvim use a real Neovim."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tests.controller.fakes import FakeServer
from tmuxclaude.errors import NvimGone
from tmuxclaude.model.config import IdeConfig
from tmuxclaude.protocol.nvim_channel import Level, NvimEvent, NvimRequest


class FakeNvim:
    """One attached Neovim: records every message the controller sends it; ``hang_up()`` ends the connection."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.statuses: list[tuple[str, str]] = []
        self.notes: list[tuple[str, Level]] = []
        self.errors: list[str] = []
        self.comments: list[list[dict[str, Any]]] = []
        self.said: list[str] = []
        self.checked: list[tuple[str, str]] = []
        self.closed = False
        self._gone = asyncio.Event()

    def hang_up(self) -> None:
        self._gone.set()

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        return {"tool": name}

    async def open_diff(
        self, diff_id: str, old_file_path: str, new_file_path: str, new_file_contents: str, tab_name: str
    ) -> None:
        pass

    async def close_diff(self, tab_name: str) -> bool:
        return False

    async def check_file(self, path: str, by: str) -> None:
        self.checked.append((path, by))

    def push_status(self, state: str, glyph: str) -> None:
        self.statuses.append((state, glyph))

    def notify(self, text: str, level: Level) -> None:
        self.notes.append((text, level))

    def show_error(self, text: str) -> None:
        self.errors.append(text)

    def set_comments(self, listing: list[dict[str, Any]]) -> None:
        self.comments.append(listing)

    def say(self, text: str) -> None:
        self.said.append(text)

    async def wait_closed(self) -> None:
        await self._gone.wait()

    async def close(self) -> None:
        self.closed = True
        self._gone.set()


@dataclass
class Attach:
    """One ``attach`` call as the connector saw it."""

    address: str
    instance_id: str
    name: str
    worktree: str
    on_event: Callable[[NvimEvent], None]
    on_request: Callable[[NvimRequest], Awaitable[Any]] | None
    debounce_ms: int
    status: tuple[str, str] | None
    nvim: FakeNvim | None = None


@dataclass
class FakeConnector:
    """Attaches to a FakeNvim per call; ``failures`` makes that many attaches fail first (Neovim not up yet)."""

    failures: int = 0
    calls: list[Attach] = field(default_factory=list)
    attached: asyncio.Event = field(default_factory=asyncio.Event)
    _pid: int = 4000

    async def attach(
        self,
        address: str,
        *,
        instance_id: str,
        name: str,
        worktree: str,
        on_event: Callable[[NvimEvent], None],
        on_request: Callable[[NvimRequest], Awaitable[Any]] | None = None,
        debounce_ms: int = 100,
        status: tuple[str, str] | None = None,
    ) -> FakeNvim:
        call = Attach(address, instance_id, name, worktree, on_event, on_request, debounce_ms, status)
        self.calls.append(call)
        if self.failures > 0:
            self.failures -= 1
            raise NvimGone(f"cannot connect to Neovim at {address}: No such file or directory")
        self._pid += 1
        call.nvim = FakeNvim(self._pid)
        self.attached.set()
        return call.nvim

    def last(self, instance_id: str) -> Attach:
        return [c for c in self.calls if c.instance_id == instance_id and c.nvim is not None][-1]


class RecordingServer(FakeServer):
    """The fake IDE server, also keeping the selections and diff decisions pushed to it."""

    def __init__(self, instance_id: str, token: str, config: IdeConfig) -> None:
        super().__init__(instance_id, token, config)
        self.selections: list[dict[str, Any]] = []
        self.diffs: list[dict[str, Any]] = []

    def push_selection(self, event: dict[str, Any]) -> None:
        self.selections.append(event)

    def diff_event(self, event: dict[str, Any]) -> None:
        self.diffs.append(event)

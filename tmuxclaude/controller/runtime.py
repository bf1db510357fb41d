"""What the controller holds while it runs: its ports, the registry, the served instances, and the one lock.

Every use-case module (spawn, teardown, reconcile, ...) is a set of functions over one :class:`Runtime`, built by
the composition root (controller/compose.py) from a :class:`~tmuxclaude.controller.ports.Ports` bundle.

Locking rule: every use case that changes which instances exist or what their panes run (new, open, kill,
kill_all, restore, pause, resume, reconcile) holds ``Runtime.lock``; reads (ls, switch, send) do not. Blocking
work (git, file scans and copies, tmux window creation) never runs on the event loop while the lock is held: it
goes through ``asyncio.to_thread``; single tmux commands (a few ms each) run inline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tmuxclaude.controller.edits import EditTracker
from tmuxclaude.controller.ports import IdeServerPort, NvimPort, Ports
from tmuxclaude.controller.prompts import Outbox
from tmuxclaude.errors import TmuxClaudeError
from tmuxclaude.model.claude import PermissionChoice
from tmuxclaude.model.claude_sessions import ClaudeSession
from tmuxclaude.model.config import Config
from tmuxclaude.model.instance import Instance, Registry

if TYPE_CHECKING:
    from tmuxclaude.controller.served import ServedInstance

__all__ = ["ClientContext", "Dispatch", "NvimDispatch", "Runtime", "SharedTick"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClientContext:
    """Who is asking: the CLI's cwd and, when it runs inside this tmux server, its pane."""

    cwd: str
    pane: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClientContext:
        return cls(cwd=str(data.get("cwd") or os.getcwd()), pane=str(data.get("pane") or ""))


Dispatch = Callable[[str, dict[str, Any], ClientContext], Awaitable[Any]]
"""Run a command of the one command table (controller/commands.py) as the control socket would."""
NvimDispatch = Callable[[str, str, dict[str, Any]], Awaitable[Any]]
"""Run a ``:ClaudeCode*`` command from an instance's Neovim: (instance id, its command name, payload) -> answer."""


async def _not_taking_commands(*args: Any) -> Any:
    raise TmuxClaudeError("the controller is not taking commands yet")


class SharedTick:
    """One tick a second shared by every waiter (Neovim attach retries): no per-instance polling timer."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._waiters = 0

    async def wait(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        self._waiters += 1
        try:
            await self._event.wait()
        finally:
            self._waiters -= 1

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            event, self._event = self._event, asyncio.Event()
            event.set()
            if not self._waiters:
                return


@dataclass
class StatusState:
    """The global status segment last published, and whether a publish is queued."""

    summary: str | None = None
    pending: bool = False


@dataclass
class MonitorState:
    """What the periodic tick remembers between runs."""

    proc_cache: dict[str, dict[int, Any]] = field(default_factory=dict)
    """Process objects by instance id: CPU% compares with the previous reading of the same object, so one
    instance's sampling must never drop another's (one shared cache read 0.0% for all as soon as there were two)."""
    offered: dict[str, str] = field(default_factory=dict)
    offered_sessions: set[int] = field(default_factory=set)
    """Pids of ``claude --worktree`` sessions already offered as instances (controller/claude_worktrees.py)."""
    last_rss_check: float = 0.0
    rss_warned: set[str] = field(default_factory=set)


class Runtime:
    def __init__(self, config: Config, ports: Ports) -> None:
        self.config = config
        self.ports = ports
        self.registry = Registry()
        self.served: dict[str, ServedInstance] = {}
        """What each served instance holds (controller/served.py): its IDE server, files, lock, Neovim link."""
        self.lock = asyncio.Lock()
        self.dispatch: Dispatch = _not_taking_commands
        self.nvim_dispatch: NvimDispatch = _not_taking_commands
        """The command table's two entry points, injected by the composition root: the pane channel's keys and
        Neovim's auto-start run commands through ``dispatch``, Neovim's ``:ClaudeCode*`` through the other."""
        self.status = StatusState()
        self.monitor = MonitorState()
        self.started = ports.clock.time()
        self.events: list[str] = []
        """Recent lifecycle events (bounded), shown by ``daemon status``."""
        self.offered_restore = ""
        """The tmux server (``server_id``) we last told that orphaned instances can be restored."""
        self.ticker = SharedTick()
        self.edits = EditTracker(self.nvim, ports.files.read_file_text)
        """Claude's file writes per instance: pre-images for :ClaudeCodeReview, reloads in its Neovim."""
        self.forks: dict[str, ClaudeSession] = {}
        """``/fork`` children reported by an instance's hooks, by session id (controller/forks.py)."""
        self.permissions: dict[str, PermissionChoice] = {}
        """The permission mode each instance's Claude was last started in, and who chose it (``ls --json``)."""
        self.outbox = Outbox()
        """Prompts waiting for their instance's Claude to be idle (controller/prompts.py)."""
        self._background: set[asyncio.Task[Any]] = set()
        self.watchers: set[asyncio.Event] = set()
        """Open ``watch`` streams (controller/watch.py), woken on every change."""
        self.hosts: Any = None
        """The other hosts' links and last known views (controller/hosts.py), when any host is configured."""

    def server(self, instance_id: str) -> IdeServerPort | None:
        """The instance's IDE server, or None (not served)."""
        served = self.served.get(instance_id)
        return served.server if served is not None else None

    def nvim(self, instance_id: str) -> NvimPort | None:
        """The instance's attached Neovim, or None (not served, or not attached yet)."""
        served = self.served.get(instance_id)
        return served.nvim if served is not None else None

    def save(self) -> None:
        self.ports.state.save(self.registry)

    def update(self, inst: Instance, **changes: Any) -> Instance:
        """Write fields of an instance's record other than its phase and activity (controller/lifecycle.py
        writes those)."""
        new = inst.with_(**changes)
        self.registry.put(new)
        self.save()
        return new

    def event(self, text: str) -> None:
        log.info("%s", text)
        self.events.append(f"{time.strftime('%H:%M:%S')} {text}")
        del self.events[:-50]

    def background(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as a task the runtime keeps a reference to until it ends."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def drain_background(self) -> None:
        for task in list(self._background):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._background, return_exceptions=True)

"""What the controller holds while it runs: the ports, the registry, the served instances, and the one lock.

Every use-case module (spawn, teardown, reconcile, ...) is a set of functions over one :class:`Runtime`.

Locking rule: every use case that changes which instances exist or what their panes run (new, open, kill,
kill_all, restore, pause, resume, reconcile) holds ``Runtime.lock``; reads (ls, switch, send) do not. Blocking
calls that may take long (git, file copies, tmux window creation) go through ``asyncio.to_thread``; single tmux
commands (a few ms each) run inline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tmuxclaude.adapters import git as gitx
from tmuxclaude.adapters import netports
from tmuxclaude.adapters.claude_cli import ClaudeCliPort, LocalClaudeCli
from tmuxclaude.adapters.lockfiles import LockDir
from tmuxclaude.adapters.paths import Paths
from tmuxclaude.adapters.statefile import StateFile
from tmuxclaude.controller.edits import EditTracker
from tmuxclaude.controller.io_ports import IoPorts
from tmuxclaude.controller.ports import (
    Clock,
    GitPort,
    IdeServerFactory,
    IdeServerPort,
    LockStore,
    PortBinder,
    StateStore,
    TmuxPort,
)
from tmuxclaude.controller.prompts import Outbox
from tmuxclaude.model.claude import PermissionChoice
from tmuxclaude.model.claude_sessions import ClaudeSession
from tmuxclaude.model.config import Config
from tmuxclaude.model.instance import Instance, Registry

if TYPE_CHECKING:
    from tmuxclaude.adapters.nvim import NvimBridge

__all__ = ["ClientContext", "CommandTable", "Runtime", "SharedTick"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClientContext:
    """Who is asking: the CLI's cwd and, when it runs inside this tmux server, its pane."""

    cwd: str
    pane: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClientContext:
        return cls(cwd=str(data.get("cwd") or os.getcwd()), pane=str(data.get("pane") or ""))


class CommandTable(Protocol):
    """The one command table (``controller.commands.Commands``), as the parts below it call it."""

    async def dispatch(self, cmd: str, args: dict[str, Any], client: ClientContext) -> Any: ...
    async def from_nvim(self, instance_id: str, cmd: str, payload: dict[str, Any]) -> Any: ...


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
    def __init__(
        self,
        paths: Paths,
        config: Config,
        tmux: TmuxPort,
        *,
        git: GitPort = gitx,
        locks: LockStore | None = None,
        state: StateStore | None = None,
        clock: Clock = time,
        net: PortBinder = netports,
        ide_server: IdeServerFactory | None = None,
        io: IoPorts | None = None,
    ) -> None:
        self.paths = paths
        self.config = config
        self.tmux = tmux
        self.git = git
        self.locks: LockStore = locks if locks is not None else LockDir(paths.lock_dir)
        self.state: StateStore = state if state is not None else StateFile(paths.state_file)
        self.clock = clock
        self.net = net
        if ide_server is None:
            from tmuxclaude.controller.ide import IdeServer

            ide_server = IdeServer
        self.ide_server: IdeServerFactory = ide_server
        if io is None:
            from tmuxclaude.controller.compose_io import real_io_ports

            io = real_io_ports(paths.tmux_socket, paths)
        self.io = io
        """Processes, files, Claude's sessions, launchers, pane text, hosts (controller/io_ports.py)."""
        self.registry = Registry()
        self.servers: dict[str, IdeServerPort] = {}
        self.bridges: dict[str, NvimBridge] = {}
        self.nvim_tasks: dict[str, asyncio.Task[None]] = {}
        self.lock = asyncio.Lock()
        self.status = StatusState()
        self.monitor = MonitorState()
        self.started = clock.time()
        self.events: list[str] = []
        """Recent lifecycle events (bounded), shown by ``daemon status``."""
        self.offered_restore = ""
        """The tmux server (``server_id``) we last told that orphaned instances can be restored."""
        self.ticker = SharedTick()
        self.claude_cli: ClaudeCliPort = LocalClaudeCli()
        self.edits = EditTracker(self.bridges.get, io.files.read_file_text)
        """Claude's file writes per instance: pre-images for :ClaudeCodeReview, reloads in its Neovim."""
        self.forks: dict[str, ClaudeSession] = {}
        """``/fork`` children reported by an instance's hooks, by session id (controller/forks.py)."""
        self.permissions: dict[str, PermissionChoice] = {}
        """The permission mode each instance's Claude was last started in, and who chose it (``ls --json``)."""
        self.outbox = Outbox()
        """Prompts waiting for their instance's Claude to be idle (controller/prompts.py)."""
        self.commands: CommandTable | None = None
        """The command table, set by ``controller.commands.Commands``: Neovim requests and auto-start use it."""
        self._background: set[asyncio.Task[Any]] = set()
        self.watchers: set[asyncio.Event] = set()
        """Open ``watch`` streams (controller/watch.py), woken on every change."""
        self.hosts: Any = None
        """The other hosts' links and last known views (controller/hosts.py), when any host is configured."""

    def save(self) -> None:
        self.state.save(self.registry)

    def update(self, inst: Instance, **changes: Any) -> Instance:
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

"""InstanceManager: the use cases (new, open, kill, switch, send, gc, reconcile), each all-or-nothing.

Start acquires resources in order (port, IDE server, lock file, tmux window, registry entry) and undoes the
ones it got, in reverse, when a later step fails. Kill runs every teardown step even when earlier ones find
their piece already gone. Worktrees are created on request and never removed as a side effect of a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import json
import logging
import os
import secrets
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tmuxclaude.adapters import git as gitx
from tmuxclaude.adapters.claude_cli import ClaudeCliPort, LocalClaudeCli
from tmuxclaude.adapters.fsutil import write_private
from tmuxclaude.adapters.lockfiles import LockDir
from tmuxclaude.adapters.netports import bind_free_port, bind_port
from tmuxclaude.adapters.paths import Paths, ensure_private_dir
from tmuxclaude.adapters.procs import pid_alive, tree_stats
from tmuxclaude.adapters.statefile import StateFile
from tmuxclaude.adapters.tmux import Tmux
from tmuxclaude.controller.edits import EditTracker, FileCheckPort
from tmuxclaude.controller.ide import IdeServer
from tmuxclaude.errors import (
    InstanceError,
    LimitError,
    NvimError,
    TmuxClaudeError,
    WorktreeError,
)
from tmuxclaude.model.config import Config
from tmuxclaude.model.instance import Instance, InstanceState, Registry
from tmuxclaude.model.naming import NameParts, instance_name
from tmuxclaude.model.states import GLYPHS, HOOK_EVENTS, next_state, summary_text
from tmuxclaude.protocol.lockfile import LockRecord, token_matches

__all__ = ["ClientContext", "InstanceManager"]

log = logging.getLogger(__name__)

FALLBACK_SESSION = "tmuxclaude"


@dataclass(frozen=True)
class ClientContext:
    """Who is asking: the CLI's cwd and, when it runs inside this tmux server, its pane."""

    cwd: str
    pane: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClientContext:
        return cls(cwd=str(data.get("cwd") or os.getcwd()), pane=str(data.get("pane") or ""))


def _resolve_callable(spec: str) -> Callable[..., object]:
    module, _, attr = spec.partition(":")
    func = getattr(importlib.import_module(module), attr)
    if not callable(func):
        raise InstanceError(f"{spec} is not callable")
    return func  # type: ignore[no-any-return]


class InstanceManager:
    def __init__(self, paths: Paths, config: Config, tmux: Tmux) -> None:
        self.paths = paths
        self.config = config
        self.tmux = tmux
        self.claude_cli: ClaudeCliPort = LocalClaudeCli()
        self.edits = EditTracker(self._bridge_of)
        self.locks = LockDir(paths.lock_dir)
        self.state = StateFile(paths.state_file)
        self.registry = Registry()
        self.servers: dict[str, IdeServer] = {}
        self._nvim_tasks: dict[str, asyncio.Task[None]] = {}
        self._bridges: dict[str, Any] = {}
        self._lock = asyncio.Lock()
        self._proc_cache: dict[int, Any] = {}
        self._summary: str | None = None
        self._summary_pending = False
        self._tick_event = asyncio.Event()
        self._tick_task: asyncio.Task[None] | None = None
        self._tick_waiters = 0
        self._background: set[asyncio.Task[None]] = set()
        self._offered: dict[str, str] = {}
        self._last_rss_check = 0.0
        self._rss_warned: set[str] = set()
        self.events: list[str] = []
        """Recent lifecycle events (bounded), shown by ``daemon status``."""

    # -- persistence -----------------------------------------------------------------------------------

    def _save(self) -> None:
        self.state.save(self.registry)

    def _update(self, inst: Instance, **changes: Any) -> Instance:
        new = inst.with_(**changes)
        self.registry.put(new)
        self._save()
        return new

    # -- start / reconcile -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Load state and take back every instance whose window still exists, on its old port and token."""
        ensure_private_dir(self.paths.runtime_dir)
        self.registry = self.state.load()
        async with self._lock:
            live = self._live_windows()
            tmux_up = self.tmux.alive()
            for inst in self.registry.ordered():
                if inst.window_id in live and live[inst.window_id] == inst.id:
                    try:
                        await self._serve(inst, bind_port(inst.port))
                        self._event(f"re-served {inst.name} on port {inst.port}")
                    except OSError as exc:
                        log.error("port %s of %s is taken (%s); instance not served", inst.port, inst.name, exc)
                        self._update(inst, state=InstanceState.DEAD)
                elif tmux_up:
                    log.info("window of %s is gone; dropping it", inst.name)
                    self.locks.remove(inst.port)
                    self.registry.remove(inst.id)
                else:
                    # The tmux server is down: keep the record for `tmuxclaude restore`, serve nothing.
                    self.locks.remove(inst.port)
                    if inst.state is not InstanceState.PAUSED:
                        self.registry.put(inst.with_(state=InstanceState.DEAD))
            if tmux_up:
                for window_id, instance_id in live.items():
                    if instance_id and instance_id not in self.registry:
                        await self._adopt(window_id, instance_id)
            self._save()
            self._reap_foreign_locks()
            if tmux_up:
                self._publish_summary()

    async def _adopt(self, window_id: str, instance_id: str) -> None:
        """A window tagged as ours that the state does not know (state lost or rolled back to its backup):
        take it back from its tmux options and its lock file, so its Claude keeps its IDE."""
        opts = self.tmux.window_options(window_id)
        panes = self.tmux.window_panes(window_id)
        try:
            port = int(opts.get("port", ""))
        except ValueError:
            return
        if len(panes) < 2 or not opts.get("worktree"):
            return
        lock = self.locks.read_raw(port) or {}
        same = lock.get("instanceId") == instance_id
        info = self.tmux.pane_info(panes[0]) or {}
        inst = Instance(
            id=instance_id,
            name=self.registry.unique_name(opts.get("name") or instance_id),
            worktree=opts["worktree"],
            repo=opts["worktree"],
            branch=opts.get("branch", ""),
            port=port,
            token=str(lock["authToken"]) if same and lock.get("authToken") else secrets.token_urlsafe(32),
            hook_token=secrets.token_urlsafe(24),
            created_at=float(lock.get("createdAt") or time.time()) if same else time.time(),
            parent_port=lock.get("parentPort") if same else None,
            session_id=info.get("session_id", ""),
            window_id=window_id,
            nvim_pane=panes[0],
            claude_pane=panes[-1],
            nvim_socket=str(self.paths.nvim_socket(instance_id)),
            state=InstanceState.IDLE,
            state_since=time.time(),
        )
        with contextlib.suppress(WorktreeError):
            inst = inst.with_(repo=gitx.resolve_worktree(inst.worktree).main_root)
        try:
            await self._serve(inst, bind_port(port))
        except OSError as exc:
            log.error("cannot adopt window %s: port %s is taken (%s)", window_id, port, exc)
            return
        self.registry.put(inst)
        self._event(f"adopted {inst.name} (window {window_id}) on port {port}")

    def _event(self, text: str) -> None:
        log.info("%s", text)
        self.events.append(f"{time.strftime('%H:%M:%S')} {text}")
        del self.events[:-50]

    def _live_windows(self) -> dict[str, str]:
        return {row.window_id: row.instance_id for row in self.tmux.windows()}

    def _reap_foreign_locks(self) -> list[int]:
        """Our lock files (they carry instanceId) that no served instance owns: a dead controller's leftovers."""
        removed = []
        served = {s.port for s in self.servers.values()}
        for port, data in self.locks.ours().items():
            if port in served:
                continue
            pid = data.get("pid")
            if pid == os.getpid() or not pid_alive(pid if isinstance(pid, int) else None):
                self.locks.remove(port)
                removed.append(port)
        return removed

    async def reconcile(self) -> None:
        """Drop instances whose tmux window is gone (the user closed it): cleanup_on_exit."""
        if not self.servers:
            return
        async with self._lock:
            if not self.tmux.alive():
                # The tmux server is gone (killed, or the machine is going down): stop serving, drop the lock
                # files, keep the records so `tmuxclaude restore` can bring every instance back.
                for inst in self.registry.ordered():
                    if inst.id in self.servers:
                        await self._stop_server(inst.id)
                        self.locks.remove(inst.port)
                        self.registry.put(inst.with_(state=InstanceState.DEAD, window_id="", state_since=time.time()))
                        self._event(f"{inst.name}: tmux server gone; kept for restore")
                self._save()
                return
            live = self._live_windows()
            panes = self.tmux.panes()
            for inst in self.registry.ordered():
                if inst.state in (InstanceState.PAUSED, InstanceState.DEAD) and inst.id not in self.servers:
                    continue
                window_gone = live.get(inst.window_id) != inst.id
                nvim_gone = not inst.external_nvim and inst.nvim_pane not in panes
                if window_gone or (nvim_gone and self.config.multi_instance.cleanup_on_exit):
                    self._event(f"{inst.name}: window or Neovim closed; tearing down")
                    await self._teardown(inst, kill_window=not window_gone)

    # -- use cases -------------------------------------------------------------------------------------

    async def new(self, branch: str, base: str | None, client: ClientContext, focus: bool = True) -> dict[str, Any]:
        info = gitx.resolve_worktree(client.cwd)
        location = gitx.worktree_location(self.config.worktrees.dir, info, branch)
        async with self._lock:
            self._check_limit()
            created = await asyncio.to_thread(gitx.create_worktree, info, branch, base=base, location=location)
            await asyncio.to_thread(self._bootstrap_worktree, Path(info.main_root), Path(created.root))
            inst = await self._spawn(created, client, focus=focus)
        await self._post_create(inst)
        return self.describe(inst, client)

    async def open(self, path: str, client: ClientContext, nvim_server: str = "", focus: bool = True) -> dict[str, Any]:
        target = path or client.cwd
        info = gitx.resolve_worktree(target)
        async with self._lock:
            existing = self.registry.by_worktree(info.root)
            if existing is not None:
                if existing.state is InstanceState.PAUSED:
                    raise InstanceError(f"{existing.name} is paused; `tmuxclaude resume {existing.name}`")
                if focus:
                    self.tmux.select(existing.window_id, existing.claude_pane, client.pane or None)
                return self.describe(existing, client) | {"existing": True}
            self._check_limit()
            inst = await self._spawn(info, client, focus=focus, nvim_server=nvim_server)
        return self.describe(inst, client)

    def _check_limit(self) -> None:
        limit = self.config.effective_max_instances
        active = [i for i in self.registry.ordered() if i.state is not InstanceState.DEAD]
        if len(active) >= limit:
            if not self.config.multi_instance.enabled:
                raise LimitError("multi_instance.enabled is false: one instance at a time; kill it first")
            raise LimitError(f"max_instances ({limit}) reached; kill an instance or raise multi_instance.max_instances")

    def _name_for(self, info: gitx.WorktreeInfo) -> str:
        parts = NameParts(
            repo=info.repo_name, branch=info.branch, worktree=Path(info.root).name, n=len(self.registry) + 1
        )
        return self.registry.unique_name(instance_name(self.config.instance_naming, parts, _resolve_callable))

    async def _spawn(
        self,
        info: gitx.WorktreeInfo,
        client: ClientContext,
        *,
        focus: bool,
        nvim_server: str = "",
        reuse: Instance | None = None,
        resume_args: list[str] | None = None,
    ) -> Instance:
        """Start one instance, all or nothing."""
        undo: list[Callable[[], Awaitable[None] | None]] = []
        try:
            if reuse is not None:
                sock = bind_port(reuse.port)
                inst = reuse.with_(state=InstanceState.STARTING)
            else:
                sock = bind_free_port(
                    self.config.ports.min,
                    self.config.ports.max,
                    self.locks.ports() | self.registry.ports(),
                )
                parent = self.registry.by_pane_or_window(client.pane) if client.pane else None
                inst = Instance(
                    id=secrets.token_hex(4),
                    name=self._name_for(info),
                    worktree=info.root,
                    repo=info.main_root,
                    branch=info.branch,
                    port=sock.getsockname()[1],
                    token=secrets.token_urlsafe(32),
                    hook_token=secrets.token_urlsafe(24),
                    created_at=time.time(),
                    parent_port=parent.port if parent else None,
                    external_nvim=bool(nvim_server),
                    nvim_socket=nvim_server,
                )
                if not nvim_server:
                    inst = inst.with_(nvim_socket=str(self.paths.nvim_socket(inst.id)))
            undo.append(sock.close)
            await self._serve_socket(inst, sock)
            undo.append(lambda: self._stop_server(inst.id))
            undo.append(lambda: self._remove_lock(inst.port))
            undo.append(lambda: self._remove_hook_files(inst))
            inst = await asyncio.to_thread(self._create_panes, inst, client, focus, resume_args or [])
            undo.append(lambda: self._kill_panes(inst))
            inst = inst.with_(state=InstanceState.IDLE, state_since=time.time())
            self.registry.put(inst)
            self._save()
            self._publish_summary()
            self._start_nvim_task(inst)
            self._event(f"started {inst.name} on port {inst.port}")
            return inst
        except BaseException:
            for step in reversed(undo):
                try:
                    result = step()
                    if asyncio.iscoroutine(result):
                        await result
                except Exception:
                    log.exception("rollback step failed")
            raise

    async def _serve(self, inst: Instance, sock: Any) -> IdeServer:
        server = await self._serve_socket(inst, sock)
        self._start_nvim_task(inst)
        return server

    async def _serve_socket(self, inst: Instance, sock: Any) -> IdeServer:
        server = IdeServer(inst.id, inst.token, self.config.ide)
        server.on_http = functools.partial(self._on_http, inst.id)
        try:
            await server.start(sock)
        except BaseException:
            sock.close()
            raise
        self.servers[inst.id] = server
        try:
            self._write_hook_files(inst)
            # The lock file goes last: a reader must never find a lock whose port is not yet served.
            self._write_lock(inst)
        except BaseException:
            await server.close()
            self.servers.pop(inst.id, None)
            self._remove_hook_files(inst)
            raise
        return server

    def _bridge_of(self, instance_id: str) -> FileCheckPort | None:
        bridge: FileCheckPort | None = self._bridges.get(instance_id)
        return bridge

    def _remove_hook_files(self, inst: Instance) -> None:
        for path in (self.paths.settings_file(inst.id), self.paths.hook_token_file(inst.id)):
            with contextlib.suppress(OSError):
                path.unlink()

    def _remove_lock(self, port: int) -> None:
        self.locks.remove(port)

    def _write_lock(self, inst: Instance) -> None:
        record = LockRecord(
            pid=os.getpid(),
            workspace_folders=(inst.worktree,),
            ide_name=f"Neovim ({inst.name})",
            auth_token=inst.token,
            instance_id=inst.id,
            worktree_path=inst.worktree,
            created_at=inst.created_at,
            neovim_pid=inst.nvim_pid,
            parent_port=inst.parent_port,
        )
        self.locks.write(inst.port, record)

    async def _stop_server(self, instance_id: str) -> None:
        task = self._nvim_tasks.pop(instance_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        bridge = self._bridges.pop(instance_id, None)
        if bridge is not None:
            with contextlib.suppress(Exception):
                await bridge.close()
        server = self.servers.pop(instance_id, None)
        if server is not None:
            await server.close()

    def _pane_env(self, inst: Instance) -> dict[str, str]:
        env = dict(self.config.commands.shell_env)
        env.update(self.config.commands.claude_env)
        env.update(
            {
                "CLAUDE_CODE_SSE_PORT": str(inst.port),
                "ENABLE_IDE_INTEGRATION": "true",
                "CLAUDE_INSTANCE_ID": inst.id,
                "CLAUDE_WORKTREE_PATH": inst.worktree,
            }
        )
        if "CLAUDE_CONFIG_DIR" not in env and os.environ.get("CLAUDE_CONFIG_DIR"):
            # The CLI must scan the directory the lock file is in.
            env["CLAUDE_CONFIG_DIR"] = os.environ["CLAUDE_CONFIG_DIR"]
        # The CLI sends even ws://127.0.0.1 through an HTTP proxy unless loopback is excluded.
        for key in ("no_proxy", "NO_PROXY"):
            current = env.get(key, os.environ.get(key, ""))
            extra = "127.0.0.1,localhost,::1"
            env[key] = f"{current},{extra}" if current else extra
        return env

    def claude_command(self, inst: Instance, extra: list[str]) -> list[str]:
        # --settings adds a layer: the user's own settings and hooks stay in force.
        command = self.config.commands.claude
        mode = self.claude_cli.permission_choice(command, self.config.claude.permission_mode, inst.worktree,
                                                 self._pane_env(inst))  # fmt: skip
        log.info("%s: permission mode: %s", inst.name, mode.reason)
        return [*command, *mode.args, "--settings", str(self.paths.settings_file(inst.id)), *extra]

    def _write_hook_files(self, inst: Instance) -> None:
        """The per-instance Claude settings (our hooks) and the hook token they read, both 0600."""
        from importlib.resources import files

        ensure_private_dir(self.paths.runtime_dir)
        script = str(files("tmuxclaude") / "hooks" / "hook.sh")
        token_file = self.paths.hook_token_file(inst.id)
        hooks: dict[str, Any] = {}
        for event in HOOK_EVENTS:
            command = " ".join(shlex.quote(a) for a in ("bash", script, event, str(inst.port), str(token_file)))
            entry: dict[str, Any] = {"hooks": [{"type": "command", "command": command, "timeout": 5}]}
            if event in ("PreToolUse", "PostToolUse"):
                entry["matcher"] = "*"
            hooks[event] = [entry]
        write_private(token_file, inst.hook_token + "\n")
        write_private(self.paths.settings_file(inst.id), json.dumps({"hooks": hooks}, indent=1))

    def _create_panes(self, inst: Instance, client: ClientContext, focus: bool, extra: list[str]) -> Instance:
        options = {
            "id": inst.id,
            "name": inst.name,
            "port": str(inst.port),
            "state": "idle",
            "glyph": self._glyph(InstanceState.IDLE),
            "worktree": inst.worktree,
            "branch": inst.branch,
        }
        claude_cmd = self.claude_command(inst, extra)
        if inst.external_nvim:
            # A user's own Neovim joined with :ClaudeCode: the Claude pane goes beside it, in its window.
            info = self.tmux.pane_info(client.pane) if client.pane else None
            if info is None:
                raise InstanceError("joining an existing Neovim needs its tmux pane (run :ClaudeCode inside tmux)")
            claude_pane = self.tmux.split(client.pane, cwd=inst.worktree, cmd=claude_cmd, env=self._pane_env(inst))
            self.tmux.set_window_options(info["window_id"], options)
            return inst.with_(
                session_id=info["session_id"],
                window_id=info["window_id"],
                nvim_pane=client.pane,
                claude_pane=claude_pane,
            )
        session = None
        if client.pane:
            info = self.tmux.pane_info(client.pane)
            session = info["session_id"] if info else None
        ensure_private_dir(self.paths.runtime_dir)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(inst.nvim_socket)
        window = self.tmux.create_instance_window(
            session=session,
            fallback_session=FALLBACK_SESSION,
            name=inst.name,
            cwd=inst.worktree,
            nvim_cmd=[*self.config.commands.nvim, "--listen", inst.nvim_socket],
            nvim_env={**self.config.commands.shell_env, "TMUXCLAUDE_INSTANCE_ID": inst.id},
            claude_cmd=claude_cmd,
            claude_env=self._pane_env(inst),
            options=options,
            focus=focus and bool(client.pane),
        )
        if focus and client.pane:
            self.tmux.select(window.window_id, window.claude_pane, client.pane)
        return inst.with_(
            session_id=window.session_id,
            window_id=window.window_id,
            nvim_pane=window.nvim_pane,
            claude_pane=window.claude_pane,
        )

    def _kill_panes(self, inst: Instance) -> None:
        if inst.external_nvim:
            # The window is the user's own: take our pane and our tags out of it, leave the rest.
            self.tmux.kill_pane(inst.claude_pane)
            self.tmux.untag_window(inst.window_id)
        elif inst.window_id:
            self.tmux.kill_window(inst.window_id)

    # -- Neovim ----------------------------------------------------------------------------------------

    def _start_nvim_task(self, inst: Instance) -> None:
        old = self._nvim_tasks.pop(inst.id, None)
        if old is not None:
            old.cancel()
        self._nvim_tasks[inst.id] = asyncio.create_task(self._nvim_loop(inst.id))

    async def _nvim_loop(self, instance_id: str) -> None:
        """Keep this instance's Neovim attached: wait for its socket, attach, and attach again after a restart."""
        from tmuxclaude.adapters.nvim import NvimBridge

        delay = 0.02
        while True:
            inst = self.registry.get(instance_id)
            server = self.servers.get(instance_id)
            if inst is None or server is None:
                return
            address = inst.nvim_socket
            if address and (":" in address or os.path.exists(address)):
                try:
                    bridge = await NvimBridge.attach(
                        address,
                        instance_id=inst.id,
                        name=inst.name,
                        worktree=inst.worktree,
                        on_event=functools.partial(self._on_nvim_event, instance_id),
                        on_request=functools.partial(self._on_nvim_request, instance_id),
                        debounce_ms=self.config.ide.debounce_ms,
                    )
                except (NvimError, OSError) as exc:
                    log.debug("attach to %s failed: %s", address, exc)
                else:
                    self._bridges[instance_id] = bridge
                    server.set_nvim(bridge)
                    current = self.registry.get(instance_id)
                    if current is not None and current.nvim_pid != bridge.pid:
                        current = self._update(current, nvim_pid=bridge.pid)
                        with contextlib.suppress(TmuxClaudeError):
                            self._write_lock(current)
                    self._event(f"{inst.name}: Neovim attached (pid {bridge.pid})")
                    await bridge.client.wait_closed()
                    self._bridges.pop(instance_id, None)
                    server.nvim_lost()
                    self._event(f"{inst.name}: Neovim detached")
                    delay = 0.02
            if delay < 1.0:
                # A Neovim just starting (or restarting) is found within milliseconds...
                await asyncio.sleep(delay)
                delay *= 2
            else:
                # ...after that every waiting instance shares one tick a second: no per-instance polling.
                await self._shared_tick()

    async def _shared_tick(self) -> None:
        if self._tick_task is None or self._tick_task.done():
            self._tick_task = asyncio.create_task(self._ticker())
        self._tick_waiters += 1
        try:
            await self._tick_event.wait()
        finally:
            self._tick_waiters -= 1

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            event, self._tick_event = self._tick_event, asyncio.Event()
            event.set()
            if not self._tick_waiters:
                return

    def _on_nvim_event(self, instance_id: str, event: dict[str, Any]) -> None:
        server = self.servers.get(instance_id)
        if server is None:
            return
        kind = event.get("type")
        if kind == "selection":
            server.push_selection(event)
        elif kind == "diff":
            server.diff_event(event)
        elif kind == "preimage" and isinstance(event.get("text"), str):
            self.edits.on_buffer_preimage(instance_id, str(event.get("filePath", "")), event["text"].encode())
        elif kind == "buffer" and self.config.multi_instance.auto_start_for_worktree:
            task = asyncio.create_task(self._auto_start(instance_id, str(event.get("filePath", ""))))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        elif kind == "mention":
            to = event.get("to")
            target = self.registry.find(str(to)) if to else self.registry.get(instance_id)
            if target is None or target.id not in self.servers:
                log.warning("mention for unknown instance %r dropped", to)
                return
            line_start = event.get("lineStart")
            line_end = event.get("lineEnd")
            self.servers[target.id].push_mention(
                str(event.get("filePath", "")),
                line_start if isinstance(line_start, int) else None,
                line_end if isinstance(line_end, int) else None,
            )

    async def _auto_start(self, instance_id: str, path: str) -> None:
        """A file of another worktree was opened in this instance's Neovim: start that worktree's instance."""
        try:
            info = await asyncio.to_thread(gitx.resolve_worktree, path)
        except WorktreeError:
            return  # not in a git worktree: nothing to start
        if self.registry.by_worktree(info.root) is not None:
            return
        source = self.registry.get(instance_id)
        client = ClientContext(cwd=info.root, pane=source.nvim_pane if source else "")
        try:
            item = await self.open(info.root, client, focus=False)
        except TmuxClaudeError as exc:
            log.warning("auto-start for %s failed: %s", info.root, exc)
            return
        bridge = self._bridges.get(instance_id)
        if bridge is not None:
            with contextlib.suppress(Exception):
                await bridge.client.exec_lua(
                    "vim.notify(...)", f"tmuxclaude: started instance {item['name']} for {info.root}"
                )

    async def _on_nvim_request(self, instance_id: str, cmd: str, payload: dict[str, Any]) -> Any:
        inst = self.registry.get(instance_id)
        client = ClientContext(cwd=inst.worktree if inst else os.getcwd(), pane=inst.nvim_pane if inst else "")
        arg = payload.get("arg") or None
        try:
            if cmd == "list":
                return "\n".join(self.render_ls(client)) or "no instances"
            if cmd == "switch":
                return (await self.switch(str(arg), client))["name"]
            if cmd == "kill":
                return (await self.kill(str(arg) if arg else instance_id, client))["name"]
            if cmd == "kill_all":
                return f"killed {len(await self.kill_all())}"
            if cmd == "open":
                path = str(payload.get("path") or client.cwd)
                return (await self.open(path, client))["name"]
            if cmd == "review":
                return self.edits.review(instance_id, "session" if arg == "session" else "turn")
        except TmuxClaudeError as exc:
            return {"error": str(exc)}
        return {"error": f"unknown command {cmd!r}"}

    # -- queries ---------------------------------------------------------------------------------------

    def describe(
        self,
        inst: Instance,
        client: ClientContext,
        *,
        stats: bool = False,
        panes: dict[str, dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        server = self.servers.get(inst.id)
        data: dict[str, Any] = {
            "n": self.registry.number_of(inst.id),
            "id": inst.id,
            "name": inst.name,
            "branch": inst.branch,
            "worktree": inst.worktree,
            "repo": inst.repo,
            "port": inst.port,
            "state": inst.state.value,
            "window_id": inst.window_id,
            "nvim_pane": inst.nvim_pane,
            "claude_pane": inst.claude_pane,
            "nvim_pid": inst.nvim_pid,
            "nvim_socket": inst.nvim_socket,
            "nvim_attached": bool(server and server.nvim is not None),
            "clients": server.clients if server else 0,
            "parent_port": inst.parent_port,
            "created_at": inst.created_at,
            "claude_session_id": inst.claude_session_id,
            "lock_file": str(self.locks.file_for(inst.port)),
        }
        if stats:
            pids = []
            for pane, info in (panes if panes is not None else self.tmux.panes()).items():
                if pane in (inst.nvim_pane, inst.claude_pane) and info["pid"].isdigit():
                    pids.append(int(info["pid"]))
            tree = tree_stats(pids, self._proc_cache)
            data["stats"] = {
                "rss_mb": tree.rss_mb,
                "cpu_percent": tree.cpu_percent,
                "processes": tree.processes,
            }
        return data

    def _active_window(self, client: ClientContext) -> set[str]:
        rows = self.tmux.windows()
        if client.pane:
            info = self.tmux.pane_info(client.pane)
            if info:
                return {r.window_id for r in rows if r.session_id == info["session_id"] and r.active}
        # Outside tmux: the active window of attached sessions, or of every session when none is attached.
        attached = [r for r in rows if r.session_attached]
        return {r.window_id for r in (attached or rows) if r.active}

    def list_instances(self, client: ClientContext, *, stats: bool = False) -> list[dict[str, Any]]:
        active = self._active_window(client)
        panes = self.tmux.panes() if stats else None
        out = []
        for inst in self.registry.ordered():
            data = self.describe(inst, client, stats=stats, panes=panes)
            data["active"] = inst.window_id in active
            out.append(data)
        return out

    def render_ls(self, client: ClientContext) -> list[str]:
        from tmuxclaude.cli.render import ls_line

        return [ls_line(item) for item in self.list_instances(client)]

    def _find(self, ref: str | None, client: ClientContext) -> Instance:
        if ref:
            inst = self.registry.find(ref)
            if inst is None:
                raise InstanceError(f"no instance {ref!r} (see `tmuxclaude ls`)")
            return inst
        if client.pane:
            info = self.tmux.pane_info(client.pane)
            if info:
                inst = self.registry.by_pane_or_window(info["window_id"]) or self.registry.by_pane_or_window(
                    client.pane
                )
                if inst is not None:
                    return inst
        with contextlib.suppress(WorktreeError):
            root = gitx.resolve_worktree(client.cwd).root
            inst = self.registry.by_worktree(root)
            if inst is not None:
                return inst
        raise InstanceError("no instance for this pane or directory; name one (see `tmuxclaude ls`)")

    async def switch(self, ref: str, client: ClientContext) -> dict[str, Any]:
        inst = self._find(ref, client)
        self.tmux.select(inst.window_id, inst.claude_pane, client.pane or None)
        return self.describe(inst, client)

    # -- states: hooks, status line, notifications, limits --------------------------------------------

    def _on_http(self, instance_id: str, connection: Any, request: Any) -> Any:
        """``GET /tmuxclaude/hook?event=..&session=..`` from this instance's Claude hooks (hook.sh)."""
        from urllib.parse import parse_qs, urlsplit

        inst = self.registry.get(instance_id)
        values = request.headers.get_all("X-Tmuxclaude-Hook")
        if inst is None or not token_matches(inst.hook_token, values[-1] if values else None):
            return connection.respond(403, "Forbidden\n")
        query = parse_qs(urlsplit(request.path).query)
        event = (query.get("event") or [""])[0]
        session = (query.get("session") or [""])[0]
        # Before answering: a PreToolUse of a file tool keeps the file's old text before the tool writes it.
        self.edits.on_hook(instance_id, event, session, (query.get("tool") or [""])[0], (query.get("path") or [""])[0])
        if session and session != inst.claude_session_id:
            # Claude's own conversation id: `restore` resumes exactly this conversation.
            inst = self._update(inst, claude_session_id=session)
        self.set_state(instance_id, next_state(inst.state, event))
        return connection.respond(204, "")

    def set_state(self, instance_id: str, state: InstanceState) -> None:
        inst = self.registry.get(instance_id)
        if inst is None or inst.state is state:
            return
        previous = inst.state
        inst = inst.with_(state=state, state_since=time.time())
        self.registry.put(inst)
        if state in (InstanceState.PAUSED, InstanceState.DEAD) or previous in (InstanceState.PAUSED,):
            self._save()
        self._tag_window(inst)
        self._publish_summary()
        if state is InstanceState.WAITING:
            self._notify_waiting(inst)

    def _glyph(self, state: InstanceState) -> str:
        """What the window shows for a state; multi_instance.instance_indicator = false shows nothing."""
        return GLYPHS[state] if self.config.multi_instance.instance_indicator else ""

    def _tag_window(self, inst: Instance) -> None:
        if inst.window_id:
            self.tmux.set_window_options(
                inst.window_id, {"state": inst.state.value, "glyph": self._glyph(inst.state)}, check=False
            )

    def _publish_summary(self) -> None:
        """The global status segment: one option the status line reads (no process per redraw).

        Deferred to the next loop turn: a burst of changes costs one tmux call, after the reply has gone out.
        """
        if not self._summary_pending:
            self._summary_pending = True
            asyncio.get_running_loop().call_soon(self._publish_summary_now)

    def _publish_summary_now(self) -> None:
        self._summary_pending = False
        text = ""
        if self.config.multi_instance.instance_indicator:
            text = summary_text(i.state for i in self.registry.ordered())
        if text != self._summary:
            self._summary = text
            self.tmux.run("set-option", "-g", "@tmuxclaude_summary", text, check=False)

    def _notify_waiting(self, inst: Instance) -> None:
        if self.config.status.message_on_waiting:
            self.tmux.message_clients(f"tmuxclaude: {inst.name} is waiting for input")
        if self.config.status.bell_on_waiting and inst.claude_pane:
            # A BEL written to the pane's terminal makes tmux flag the window (monitor-bell) like any bell.
            tty = self.tmux.run("display-message", "-p", "-t", inst.claude_pane, "#{pane_tty}", check=False)
            if tty and tty[0].startswith("/dev/"):
                with contextlib.suppress(OSError), open(tty[0], "w") as f:
                    f.write("\a")

    async def tick(self) -> None:
        """Periodic checks: stuck busy states, idle pauses, memory limits, worktree offers."""
        now = time.time()
        limits = self.config.limits
        if self.config.multi_instance.auto_start_for_worktree:
            await self._offer_worktrees()
        activity = self.tmux.window_activity()
        for inst in self.registry.ordered():
            if inst.state is InstanceState.BUSY and limits.busy_timeout_s > 0:
                # An interrupt (Esc) fires no hook: a busy pane that has shown nothing for a while is not busy.
                last = max(activity.get(inst.window_id, 0.0), inst.state_since)
                if now - last > limits.busy_timeout_s:
                    self.set_state(inst.id, InstanceState.IDLE)
            elif (
                limits.idle_minutes > 0
                and inst.state in (InstanceState.IDLE, InstanceState.WAITING)
                and inst.state_since
                and now - max(inst.state_since, activity.get(inst.window_id, 0.0)) > limits.idle_minutes * 60
            ):
                self._event(f"{inst.name}: idle for {limits.idle_minutes} min; pausing")
                with contextlib.suppress(TmuxClaudeError):
                    await self.pause(inst.name, ClientContext(cwd=inst.worktree))
        if limits.max_rss_mb > 0 and now - self._last_rss_check >= 10:
            self._last_rss_check = now
            for item in self.list_instances(ClientContext(cwd="/"), stats=True):
                over = item["stats"]["rss_mb"] > limits.max_rss_mb
                found = self.registry.get(item["id"])
                if found is None:
                    continue
                self.tmux.set_window_options(found.window_id, {"warn": "rss" if over else ""}, check=False)
                if over and found.id not in self._rss_warned:
                    self._rss_warned.add(found.id)
                    self.tmux.message_clients(
                        f"tmuxclaude: {found.name} uses {item['stats']['rss_mb']:.0f} MB (limit {limits.max_rss_mb})"
                    )
                elif not over:
                    self._rss_warned.discard(found.id)

    async def _offer_worktrees(self) -> None:
        """A shell pane that cd'd into a worktree of a repo tmuxclaude already runs, with no instance of its own:
        offer it (a message naming the key), once per pane and worktree. tmux has no "cd" hook; the pane's
        current path, read in the periodic tick, is what tells."""
        repos = {i.repo for i in self.registry.ordered()}
        if not repos:
            return
        ours = {p for i in self.registry.ordered() for p in (i.nvim_pane, i.claude_pane)}
        for pane, path in self.tmux.pane_paths().items():
            if pane in ours or self._offered.get(pane) == path:
                continue
            self._offered[pane] = path
            try:
                info = await asyncio.to_thread(gitx.resolve_worktree, path)
            except WorktreeError:
                continue
            if info.main_root in repos and self.registry.by_worktree(info.root) is None:
                text = f"tmuxclaude: {info.root} has no instance; prefix C o (or tmuxclaude open) starts one"
                self.tmux.run("display-message", "-t", pane, text, check=False)
                self._event(f"offered an instance for {info.root} (pane {pane})")

    async def pause(self, ref: str | None, client: ClientContext) -> dict[str, Any]:
        """Stop Claude (its pane shows how to resume); Neovim, the worktree and the branch stay."""
        inst = self._find(ref, client)
        if inst.state is InstanceState.PAUSED:
            return self.describe(inst, client)
        message = f"paused by tmuxclaude; resume with: tmuxclaude resume {inst.name}"
        self.tmux.respawn(
            inst.claude_pane,
            cwd=inst.worktree,
            cmd=["sh", "-c", f"printf '%s\\n' {shlex.quote(message)}; exec tail -f /dev/null"],
        )
        self.set_state(inst.id, InstanceState.PAUSED)
        return self.describe(self.registry.get(inst.id) or inst, client)

    async def resume(self, ref: str | None, client: ClientContext) -> dict[str, Any]:
        """Start Claude again in the paused pane, continuing its conversation."""
        inst = self._find(ref, client)
        if inst.state is not InstanceState.PAUSED:
            raise InstanceError(f"{inst.name} is not paused")
        args = ["--resume", inst.claude_session_id] if inst.claude_session_id else ["--continue"]
        self.tmux.respawn(
            inst.claude_pane, cwd=inst.worktree, cmd=self.claude_command(inst, args), env=self._pane_env(inst)
        )
        self.set_state(inst.id, InstanceState.IDLE)
        return self.describe(self.registry.get(inst.id) or inst, client)

    async def restore(self, client: ClientContext) -> list[dict[str, Any]]:
        """Rebuild the windows of instances whose tmux server went away; each Claude resumes its conversation."""
        restored = []
        async with self._lock:
            live = self._live_windows()
            for inst in self.registry.ordered():
                if inst.id in self.servers or live.get(inst.window_id) == inst.id:
                    continue
                try:
                    info = gitx.resolve_worktree(inst.worktree)
                except WorktreeError as exc:
                    log.warning("cannot restore %s: %s", inst.name, exc)
                    continue
                args = ["--resume", inst.claude_session_id] if inst.claude_session_id else []
                new = await self._spawn(info, client, focus=False, reuse=inst, resume_args=args)
                restored.append(self.describe(new, client))
        self._publish_summary()
        return restored

    def next_waiting(self, client: ClientContext) -> dict[str, Any]:
        """Switch to the next instance waiting for input, after the current one in ls order."""
        items = self.registry.ordered()
        current = ""
        if client.pane:
            info = self.tmux.pane_info(client.pane)
            current = info["window_id"] if info else ""
        start = next((n for n, i in enumerate(items) if i.window_id == current), -1)
        rotated = items[start + 1 :] + items[: start + 1]
        for inst in rotated:
            if inst.state is InstanceState.WAITING:
                self.tmux.select(inst.window_id, inst.claude_pane, client.pane or None)
                return self.describe(inst, client)
        raise InstanceError("no instance is waiting for input")

    # -- teardown --------------------------------------------------------------------------------------

    async def kill(
        self, ref: str | None, client: ClientContext, *, remove_worktree: bool = False, force: bool = False
    ) -> dict[str, Any]:
        async with self._lock:
            inst = self._find(ref, client)
            if remove_worktree and not force:
                # Refuse before touching anything: a refused removal must not leave a half-killed instance.
                reasons = await asyncio.to_thread(gitx.unsafe_reasons, inst.worktree)
                if reasons:
                    from tmuxclaude.errors import UnsafeRemovalError

                    raise UnsafeRemovalError(
                        f"worktree {inst.worktree} has {', '.join(reasons)}; commit/push first or pass --force"
                    )
            info = self.describe(inst, client)
            await self._teardown(inst, kill_window=True)
            if remove_worktree:
                await asyncio.to_thread(gitx.remove_worktree, inst.worktree, force=force)
                info["worktree_removed"] = True
            return info

    async def kill_all(self) -> list[str]:
        async with self._lock:
            names = []
            for inst in self.registry.ordered():
                await self._teardown(inst, kill_window=True)
                names.append(inst.name)
            return names

    async def _teardown(self, inst: Instance, *, kill_window: bool) -> None:
        """Every step runs; pieces already gone are fine. Errors are collected and raised together."""
        errors: list[Exception] = []
        steps: list[Callable[[], Any]] = [
            lambda: self._stop_server(inst.id),
            lambda: self.locks.remove(inst.port),
        ]
        if kill_window:
            steps.append(lambda: self._kill_panes(inst))
        steps.append(lambda: self._forget(inst))
        for step in steps:
            try:
                result = step()
                if asyncio.iscoroutine(result):
                    await result
            except Exception as exc:
                log.exception("teardown step failed for %s", inst.name)
                errors.append(exc)
        self._event(f"stopped {inst.name}")
        if errors:
            raise ExceptionGroup(f"teardown of {inst.name} had errors", errors)

    def _forget(self, inst: Instance) -> None:
        self.registry.remove(inst.id)
        self.edits.forget(inst.id)
        self._save()
        self._publish_summary()
        self._remove_hook_files(inst)
        if not inst.external_nvim:
            with contextlib.suppress(OSError):
                os.unlink(inst.nvim_socket)

    async def gc(self) -> dict[str, Any]:
        await self.reconcile()
        async with self._lock:
            removed_locks = self._reap_foreign_locks()
            sockets = []
            known = {i.nvim_socket for i in self.registry.ordered()}
            with contextlib.suppress(OSError):
                for entry in os.scandir(self.paths.runtime_dir):
                    if entry.name.endswith(".nvim.sock") and entry.path not in known:
                        os.unlink(entry.path)
                        sockets.append(entry.name)
            return {"removed_locks": sorted(removed_locks), "removed_sockets": sockets}

    async def send(
        self, to: str | None, file: str, line_start: int | None, line_end: int | None, client: ClientContext
    ) -> dict[str, Any]:
        inst = self._find(to, client)
        path = os.path.abspath(os.path.join(client.cwd, os.path.expanduser(file)))
        if not os.path.exists(path):
            raise InstanceError(f"no such file: {path}")
        server = self.servers.get(inst.id)
        if server is None:
            raise InstanceError(f"{inst.name} is not being served")
        server.push_mention(path, line_start, line_end)
        return {"name": inst.name, "file": path, "clients": server.clients}

    async def shutdown(self) -> None:
        """Clean stop: lock files go first (a reader must not find a lock for a port about to close)."""
        for inst in self.registry.ordered():
            self.locks.remove(inst.port)
        for instance_id in list(self.servers):
            await self._stop_server(instance_id)

    # -- worktree bootstrap ----------------------------------------------------------------------------

    def _bootstrap_worktree(self, main_root: Path, root: Path) -> None:
        """Copy (or link) the gitignored files a worktree needs to run: config list plus .worktreeinclude."""
        import shutil

        patterns = list(self.config.worktrees.include)
        include_file = main_root / ".worktreeinclude"
        if include_file.is_file():
            for line in include_file.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    patterns.append(line)
        for pattern in patterns:
            for src in main_root.glob(pattern):
                rel = src.relative_to(main_root)
                if ".git" in rel.parts:
                    continue
                dst = root / rel
                if dst.exists() or dst.is_symlink():
                    continue
                dst.parent.mkdir(parents=True, exist_ok=True)
                if self.config.worktrees.symlink:
                    dst.symlink_to(src)
                elif src.is_dir():
                    shutil.copytree(src, dst, symlinks=True)
                else:
                    shutil.copy2(src, dst)

    async def _post_create(self, inst: Instance) -> None:
        command = self.config.worktrees.post_create
        if not command:
            return
        env = {
            **os.environ,
            "TMUXCLAUDE_NAME": inst.name,
            "TMUXCLAUDE_PATH": inst.worktree,
            "TMUXCLAUDE_PORT": str(inst.port),
            "TMUXCLAUDE_INSTANCE_ID": inst.id,
        }
        proc = await asyncio.create_subprocess_shell(
            command, cwd=inst.worktree, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await proc.communicate()
        if proc.returncode:
            log.warning("post_create %r exited %s: %s", shlex.quote(command), proc.returncode, err[-500:])

"""Matching the records with what is really there: start-up (re-serve, adopt), the periodic reconcile with tmux,
``restore`` (rebuild windows that went away), ``gc`` (leftover lock files and sockets) and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tmuxclaude.controller.exits import notice_lost_exits
from tmuxclaude.controller.launch import respawn_claude, resume_args
from tmuxclaude.controller.lifecycle import apply
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.controller.served import ServedInstance, reserve_free_port
from tmuxclaude.controller.spawn import spawn
from tmuxclaude.controller.status import publish_summary
from tmuxclaude.controller.teardown import forget, orphan, stop_serving, teardown
from tmuxclaude.controller.views import describe
from tmuxclaude.errors import WorktreeError
from tmuxclaude.model.instance import Instance, InstanceState
from tmuxclaude.model.lifecycle import Event, Seen, judge, transition
from tmuxclaude.model.session_ids import resume_argv

__all__ = ["gc", "reconcile", "restore", "shutdown", "start"]

log = logging.getLogger(__name__)


def _live_windows(rt: Runtime) -> dict[str, str]:
    return {row.window_id: row.instance_id for row in rt.ports.tmux.windows()}


@dataclass(frozen=True)
class _Look:
    """One look at the tmux server: whether it runs, which one it is, its tagged windows and its panes."""

    tmux_up: bool
    server: str
    live: dict[str, str]
    panes: dict[str, dict[str, str]]
    worktrees: dict[str, bool]
    """Whether each record's worktree is on the disk (looked at in a thread: a hung mount must not stop the loop)."""

    @classmethod
    async def of(cls, rt: Runtime) -> _Look:
        paths = [i.worktree for i in rt.registry.ordered()]
        worktrees = await asyncio.to_thread(lambda: {p: os.path.isdir(p) for p in paths})
        up = rt.ports.tmux.alive()
        if not up:
            return cls(False, "", {}, {}, worktrees)
        return cls(True, rt.ports.tmux.server_id(), _live_windows(rt), rt.ports.tmux.panes(), worktrees)

    def seen(self, inst: Instance) -> Seen:
        pane = self.panes.get(inst.nvim_pane)
        return Seen(
            tmux_up=self.tmux_up,
            # A record made before server identities were kept cannot tell: keep it (restorable), never drop it.
            same_server=bool(inst.tmux_server) and inst.tmux_server == self.server,
            window=bool(inst.window_id) and self.live.get(inst.window_id) == inst.id,
            # With remain-on-exit on, a quit Neovim leaves its pane behind, dead.
            nvim_alive=inst.external_nvim or (pane is not None and pane.get("dead") != "1"),
            worktree=self.worktrees.get(inst.worktree, False),
        )


async def _apply(rt: Runtime, inst: Instance, event: Event, seen: Seen) -> None:
    """Carry out what ``judge`` decided for one instance."""
    if event is Event.CLOSED_BY_USER:
        rt.event(f"{inst.name}: window or Neovim closed; tearing down")
        await teardown(rt, inst, kill_window=seen.window)
    elif event is Event.WINDOWS_LOST:
        await orphan(rt, inst)
    elif event is Event.WORKTREE_GONE:
        rt.event(f"{inst.name}: worktree {inst.worktree} is gone")
        apply(rt, inst.id, Event.WORKTREE_GONE)


async def start(rt: Runtime) -> None:
    """Load state and take back every instance whose window still exists, on its old port and token; keep the
    others as restorable records unless their window was closed in this same tmux server."""
    rt.ports.paths.ensure_runtime_dir()
    rt.registry = rt.ports.state.load()
    async with rt.lock:
        look = await _Look.of(rt)
        server = look.server
        errors: list[Exception] = []
        for inst in rt.registry.ordered():
            seen = look.seen(inst)
            try:
                if seen.window:
                    await _reserve(rt, inst, server)
                else:
                    await _start_without_window(rt, inst, seen)
            except Exception as exc:
                log.exception("start-up of %s failed", inst.name)
                errors.append(exc)
        if look.tmux_up:
            for window_id, instance_id in look.live.items():
                if instance_id and instance_id not in rt.registry:
                    await _adopt(rt, window_id, instance_id, server)
            notice_lost_exits(rt)
        rt.save()
        _reap_foreign_locks(rt)
        await asyncio.to_thread(_reap_foreign_files, rt)
        if look.tmux_up:
            publish_summary(rt)
        _offer_restore(rt, server)
    if errors:
        log.error("start-up: %d instance(s) could not be taken back", len(errors))


async def _reserve(rt: Runtime, inst: Instance, server: str) -> None:
    """Its window is there: serve it again on its old port and token (Claude reconnects by itself)."""
    # A new hook token on every re-serve: hook.sh reads its file on every run, so Claude keeps working.
    inst = rt.update(inst, tmux_server=server, hook_token=secrets.token_urlsafe(24))
    kept = rt.ports.net.kept(inst.port)
    try:
        sock = rt.ports.net.bind_port(inst.port)
    except OSError as exc:
        # Another process took the port while we were down; its Claude would keep knocking there with its
        # token. Move the instance to a new port and token and restart its Claude there, resuming.
        log.warning("port %s of %s is taken (%s); moving it to a new port", inst.port, inst.name, exc)
        rt.ports.locks.remove(inst.port)
        await rehome(rt, inst)
        return
    if not kept:
        # No port keeper held it while we were down: the port was free, so anyone may have served it and
        # received this instance's token. Never reuse it with the old tokens (docs/threat-model.md).
        log.warning("port %s of %s was not held while the controller was down; moving it", inst.port, inst.name)
        sock.close()
        rt.ports.net.release(inst.port)
        rt.ports.locks.remove(inst.port)
        await rehome(rt, inst)
        return
    await ServedInstance.open(rt, inst, sock)
    apply(rt, inst.id, Event.RESERVED)
    rt.event(f"re-served {inst.name} on port {inst.port}")
    if not await asyncio.to_thread(os.path.isdir, inst.worktree):
        apply(rt, inst.id, Event.WORKTREE_GONE)


async def _start_without_window(rt: Runtime, inst: Instance, seen: Seen) -> None:
    rt.ports.locks.remove(inst.port)
    event = judge(inst.state, seen, cleanup_on_exit=rt.config.multi_instance.cleanup_on_exit)
    if event is Event.CLOSED_BY_USER:
        log.info("window of %s was closed; dropping it", inst.name)
        forget(rt, inst)
    elif event is Event.WORKTREE_GONE:
        apply(rt, inst.id, event, window_id="")
    elif event is Event.WINDOWS_LOST:
        apply(rt, inst.id, event, window_id="", nvim_pane="", claude_pane="")


async def rehome(rt: Runtime, inst: Instance) -> None:
    """Serve a live instance on a new port with a new token and restart its Claude against them, resuming its
    conversation: no Claude is left pointing at a port this controller does not serve."""
    sock = reserve_free_port(rt)
    moved = rt.update(
        inst, port=sock.getsockname()[1], token=secrets.token_urlsafe(32), hook_token=secrets.token_urlsafe(24)
    )
    await ServedInstance.open(rt, moved, sock)
    apply(rt, moved.id, Event.RESERVED)
    rt.ports.tmux.set_window_options(moved.window_id, {"port": str(moved.port)}, check=False)
    respawn_claude(rt, moved, resume_args(moved))
    rt.event(f"{moved.name}: port {inst.port} was taken; moved to port {moved.port}")


async def _adopt(rt: Runtime, window_id: str, instance_id: str, server: str) -> None:
    """A window tagged as ours that the state does not know (state lost or rolled back to its backup):
    take it back from its tmux options and its lock file, so its Claude keeps its IDE."""
    opts = rt.ports.tmux.window_options(window_id)
    panes = rt.ports.tmux.window_panes(window_id)
    try:
        port = int(opts.get("port", ""))
    except ValueError:
        return
    if len(panes) < 2 or not opts.get("worktree"):
        return
    lock = rt.ports.locks.read_raw(port) or {}
    same = lock.get("instanceId") == instance_id
    info = rt.ports.tmux.pane_info(panes[0]) or {}
    now = rt.ports.clock.time()
    inst = Instance(
        id=instance_id,
        name=rt.registry.unique_name(opts.get("name") or instance_id),
        worktree=opts["worktree"],
        repo=opts["worktree"],
        branch=opts.get("branch", ""),
        port=port,
        token=str(lock["authToken"]) if same and lock.get("authToken") else secrets.token_urlsafe(32),
        hook_token=secrets.token_urlsafe(24),
        created_at=float(lock.get("createdAt") or now) if same else now,
        parent_port=lock.get("parentPort") if same else None,
        session_id=info.get("session_id", ""),
        window_id=window_id,
        nvim_pane=panes[0],
        claude_pane=panes[-1],
        nvim_socket=str(rt.ports.paths.nvim_socket(instance_id)),
        state_since=now,
        tmux_server=server,
    )
    with contextlib.suppress(WorktreeError):
        inst = inst.with_(repo=(await asyncio.to_thread(rt.ports.git.resolve_worktree, inst.worktree)).main_root)
    kept = rt.ports.net.kept(port)
    if not kept:
        inst = inst.with_(token=secrets.token_urlsafe(32))  # the port was free: its old token may be known
    try:
        served = await ServedInstance.open(rt, inst, rt.ports.net.bind_port(port), link=False)
    except OSError as exc:
        log.error("cannot adopt window %s: port %s is taken (%s)", window_id, port, exc)
        return
    rt.registry.put(inst)
    apply(rt, inst.id, Event.RESERVED)
    served.start_link()
    if not kept:
        # Its Claude holds the old token and does not re-read the lock file: start it again against the new one.
        respawn_claude(rt, inst, resume_args(inst))
    rt.event(f"adopted {inst.name} (window {window_id}) on port {port}")


def _reap_foreign_locks(rt: Runtime) -> list[int]:
    """Our lock files (they carry instanceId) that no served instance owns: a dead controller's leftovers."""
    removed = []
    served = {s.port for s in rt.served.values()}
    for port, data in rt.ports.locks.ours().items():
        if port in served:
            continue
        pid = data.get("pid")
        if pid == os.getpid() or not rt.ports.processes.pid_alive(pid if isinstance(pid, int) else None):
            rt.ports.locks.remove(port)
            removed.append(port)
    return removed


async def reconcile(rt: Runtime) -> None:
    """Judge every served instance against what tmux and the disk show (model/lifecycle.py ``judge``): closed
    by the user (cleanup_on_exit) -> torn down; windows lost with their server -> orphaned; worktree gone ->
    dead. One failing teardown does not stop the others; errors are raised together at the end."""
    if not rt.served:
        if any(i.state is InstanceState.ORPHANED for i in rt.registry.ordered()):
            _offer_restore(rt, rt.ports.tmux.server_id())
        return
    async with rt.lock:
        look = await _Look.of(rt)
        server = look.server
        errors: list[Exception] = []
        for inst in rt.registry.ordered():
            if inst.id not in rt.served:
                continue
            seen = look.seen(inst)
            event = judge(inst.state, seen, cleanup_on_exit=rt.config.multi_instance.cleanup_on_exit)
            if event is None:
                continue
            try:
                await _apply(rt, inst, event, seen)
            except Exception as exc:
                errors.append(exc)
        _offer_restore(rt, server)
        if errors:
            raise ExceptionGroup(f"reconcile: {len(errors)} instance(s) failed", errors)


def _offer_restore(rt: Runtime, server: str) -> None:
    """Once per tmux server: say that orphaned instances can be brought back."""
    orphans = [i for i in rt.registry.ordered() if i.state is InstanceState.ORPHANED]
    if not server or not orphans or rt.offered_restore == server:
        return
    rt.offered_restore = server
    names = ", ".join(i.name for i in orphans)
    rt.ports.tmux.message_clients(
        f"tmuxclaude: {len(orphans)} instance(s) can be restored ({names}): tmuxclaude restore"
    )


async def restore(rt: Runtime, client: ClientContext) -> list[dict[str, Any]]:
    """Rebuild the windows of every orphaned instance on its old port and token; each Claude resumes its own
    conversation. A window lost a moment ago is noticed first (the periodic reconcile may not have run yet)."""
    await reconcile(rt)
    restored = []
    errors: list[Exception] = []
    async with rt.lock:
        for inst in rt.registry.ordered():
            if inst.state is not InstanceState.ORPHANED or inst.id in rt.served:
                continue
            try:
                info = await asyncio.to_thread(rt.ports.git.resolve_worktree, inst.worktree)
            except WorktreeError as exc:
                log.warning("cannot restore %s: %s", inst.name, exc)
                apply(rt, inst.id, Event.WORKTREE_GONE)
                continue
            transition(inst.state, Event.RESTORE, name=inst.name)
            args = resume_argv(inst.claude_session_id) if inst.claude_session_id else []
            try:
                new = await spawn(rt, info, client, focus=False, reuse=inst, resume_args=args)
            except Exception as exc:
                log.exception("restore of %s failed", inst.name)
                errors.append(exc)
                continue
            restored.append(describe(rt, new))
    publish_summary(rt)
    if errors and not restored:
        raise ExceptionGroup(f"restore: {len(errors)} instance(s) failed", errors)
    return restored


def _reap_foreign_files(rt: Runtime) -> list[str]:
    """Per-instance settings and hook-token files of instances no record knows (dropped while we were down)."""
    removed = []
    known = set(rt.registry.ids())
    with contextlib.suppress(OSError):
        for entry in os.scandir(rt.ports.paths.runtime_dir):
            for suffix in (".settings.json", ".hooktoken"):
                if entry.name.endswith(suffix) and entry.name[: -len(suffix)] not in known:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                        removed.append(entry.name)
    return removed


def _reap_foreign_sockets(runtime_dir: Path, known: set[str]) -> list[str]:
    """Neovim sockets in the runtime dir that no record names."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(runtime_dir):
            if entry.name.endswith(".nvim.sock") and entry.path not in known:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(entry.name)
    return removed


async def gc(rt: Runtime) -> dict[str, Any]:
    """Leftovers: instances whose panes have all exited (remain-on-exit keeps them), lock files of dead
    controllers, Neovim sockets and hook files nobody owns."""
    await reconcile(rt)
    async with rt.lock:
        panes = rt.ports.tmux.panes()
        dropped = []
        for inst in rt.registry.ordered():
            mine = [panes[p] for p in (inst.nvim_pane, inst.claude_pane) if p in panes]
            if mine and all(p.get("dead") == "1" for p in mine) and not inst.external_nvim:
                await teardown(rt, inst, kill_window=True)
                dropped.append(inst.name)
        removed_locks = _reap_foreign_locks(rt)
        known = {i.nvim_socket for i in rt.registry.ordered()}
        sockets = await asyncio.to_thread(_reap_foreign_sockets, rt.ports.paths.runtime_dir, known)
        files = await asyncio.to_thread(_reap_foreign_files, rt)
        return {
            "removed_locks": sorted(removed_locks),
            "removed_sockets": sockets,
            "removed_files": files,
            "dropped": dropped,
        }


async def shutdown(rt: Runtime) -> None:
    """Clean stop: lock files go first (a reader must not find a lock for a port about to close); then what runs
    in the background (a kill from a pane key, an auto-start) is cancelled, and every instance stops being
    served, its files kept for the next controller."""
    for inst in rt.registry.ordered():
        rt.ports.locks.remove(inst.port)
    await rt.drain_background()
    for instance_id in list(rt.served):
        try:
            # Its files stay: the next controller serves the instance again, and its Claude's hooks read them.
            await stop_serving(rt, instance_id, keep_files=True)
        except ExceptionGroup as group:
            log.warning("shutdown of %s: %s", instance_id, group.exceptions)

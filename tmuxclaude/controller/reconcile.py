"""Matching the records with what is really there: start-up (re-serve, adopt), the periodic reconcile with tmux,
``restore`` (rebuild windows that went away), ``gc`` (leftover lock files and sockets) and shutdown."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from typing import Any

from tmuxclaude.adapters.netports import bind_port
from tmuxclaude.adapters.procs import pid_alive
from tmuxclaude.controller.exits import notice_lost_exits
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.controller.serving import serve, stop_serving
from tmuxclaude.controller.spawn import spawn
from tmuxclaude.controller.status import publish_summary
from tmuxclaude.controller.teardown import teardown
from tmuxclaude.controller.views import describe
from tmuxclaude.errors import WorktreeError
from tmuxclaude.model.instance import Instance, InstanceState

__all__ = ["gc", "reconcile", "restore", "shutdown", "start"]

log = logging.getLogger(__name__)


def _live_windows(rt: Runtime) -> dict[str, str]:
    return {row.window_id: row.instance_id for row in rt.tmux.windows()}


async def start(rt: Runtime) -> None:
    """Load state and take back every instance whose window still exists, on its old port and token."""
    rt.paths.ensure_runtime_dir()
    rt.registry = rt.state.load()
    async with rt.lock:
        live = _live_windows(rt)
        tmux_up = rt.tmux.alive()
        for inst in rt.registry.ordered():
            if inst.window_id in live and live[inst.window_id] == inst.id:
                try:
                    await serve(rt, inst, bind_port(inst.port))
                    rt.event(f"re-served {inst.name} on port {inst.port}")
                except OSError as exc:
                    log.error("port %s of %s is taken (%s); instance not served", inst.port, inst.name, exc)
                    rt.update(inst, state=InstanceState.DEAD)
            elif tmux_up:
                log.info("window of %s is gone; dropping it", inst.name)
                rt.locks.remove(inst.port)
                rt.registry.remove(inst.id)
            else:
                # The tmux server is down: keep the record for `tmuxclaude restore`, serve nothing.
                rt.locks.remove(inst.port)
                if inst.state is not InstanceState.PAUSED:
                    rt.registry.put(inst.with_(state=InstanceState.DEAD))
        if tmux_up:
            for window_id, instance_id in live.items():
                if instance_id and instance_id not in rt.registry:
                    await _adopt(rt, window_id, instance_id)
            notice_lost_exits(rt)
        rt.save()
        _reap_foreign_locks(rt)
        if tmux_up:
            publish_summary(rt)


async def _adopt(rt: Runtime, window_id: str, instance_id: str) -> None:
    """A window tagged as ours that the state does not know (state lost or rolled back to its backup):
    take it back from its tmux options and its lock file, so its Claude keeps its IDE."""
    opts = rt.tmux.window_options(window_id)
    panes = rt.tmux.window_panes(window_id)
    try:
        port = int(opts.get("port", ""))
    except ValueError:
        return
    if len(panes) < 2 or not opts.get("worktree"):
        return
    lock = rt.locks.read_raw(port) or {}
    same = lock.get("instanceId") == instance_id
    info = rt.tmux.pane_info(panes[0]) or {}
    now = rt.clock.time()
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
        nvim_socket=str(rt.paths.nvim_socket(instance_id)),
        state=InstanceState.IDLE,
        state_since=now,
    )
    with contextlib.suppress(WorktreeError):
        inst = inst.with_(repo=rt.git.resolve_worktree(inst.worktree).main_root)
    try:
        await serve(rt, inst, bind_port(port))
    except OSError as exc:
        log.error("cannot adopt window %s: port %s is taken (%s)", window_id, port, exc)
        return
    rt.registry.put(inst)
    rt.event(f"adopted {inst.name} (window {window_id}) on port {port}")


def _reap_foreign_locks(rt: Runtime) -> list[int]:
    """Our lock files (they carry instanceId) that no served instance owns: a dead controller's leftovers."""
    removed = []
    served = {s.port for s in rt.servers.values()}
    for port, data in rt.locks.ours().items():
        if port in served:
            continue
        pid = data.get("pid")
        if pid == os.getpid() or not pid_alive(pid if isinstance(pid, int) else None):
            rt.locks.remove(port)
            removed.append(port)
    return removed


async def reconcile(rt: Runtime) -> None:
    """Drop instances whose tmux window is gone (the user closed it): cleanup_on_exit."""
    if not rt.servers:
        return
    async with rt.lock:
        if not rt.tmux.alive():
            # The tmux server is gone (killed, or the machine is going down): stop serving, drop the lock
            # files, keep the records so `tmuxclaude restore` can bring every instance back.
            for inst in rt.registry.ordered():
                if inst.id in rt.servers:
                    await stop_serving(rt, inst.id)
                    rt.locks.remove(inst.port)
                    rt.registry.put(inst.with_(state=InstanceState.DEAD, window_id="", state_since=rt.clock.time()))
                    rt.event(f"{inst.name}: tmux server gone; kept for restore")
            rt.save()
            return
        live = _live_windows(rt)
        panes = rt.tmux.panes()
        for inst in rt.registry.ordered():
            if inst.state in (InstanceState.PAUSED, InstanceState.DEAD) and inst.id not in rt.servers:
                continue
            window_gone = live.get(inst.window_id) != inst.id
            nvim_gone = not inst.external_nvim and inst.nvim_pane not in panes
            if window_gone or (nvim_gone and rt.config.multi_instance.cleanup_on_exit):
                rt.event(f"{inst.name}: window or Neovim closed; tearing down")
                await teardown(rt, inst, kill_window=not window_gone)


async def restore(rt: Runtime, client: ClientContext) -> list[dict[str, Any]]:
    """Rebuild the windows of instances whose tmux server went away; each Claude resumes its conversation."""
    restored = []
    async with rt.lock:
        live = _live_windows(rt)
        for inst in rt.registry.ordered():
            if inst.id in rt.servers or live.get(inst.window_id) == inst.id:
                continue
            try:
                info = rt.git.resolve_worktree(inst.worktree)
            except WorktreeError as exc:
                log.warning("cannot restore %s: %s", inst.name, exc)
                continue
            args = ["--resume", inst.claude_session_id] if inst.claude_session_id else []
            new = await spawn(rt, info, client, focus=False, reuse=inst, resume_args=args)
            restored.append(describe(rt, new))
    publish_summary(rt)
    return restored


async def gc(rt: Runtime) -> dict[str, Any]:
    await reconcile(rt)
    async with rt.lock:
        removed_locks = _reap_foreign_locks(rt)
        sockets = []
        known = {i.nvim_socket for i in rt.registry.ordered()}
        with contextlib.suppress(OSError):
            for entry in os.scandir(rt.paths.runtime_dir):
                if entry.name.endswith(".nvim.sock") and entry.path not in known:
                    os.unlink(entry.path)
                    sockets.append(entry.name)
        return {"removed_locks": sorted(removed_locks), "removed_sockets": sockets}


async def shutdown(rt: Runtime) -> None:
    """Clean stop: lock files go first (a reader must not find a lock for a port about to close)."""
    for inst in rt.registry.ordered():
        rt.locks.remove(inst.port)
    for instance_id in list(rt.servers):
        await stop_serving(rt, instance_id)

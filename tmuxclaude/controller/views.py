"""Read-only use cases: describe an instance, list them (ls, pick, :ClaudeCodeList), find the one a reference or
the caller's pane means, switch to one."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.errors import InstanceError, WorktreeError
from tmuxclaude.model.instance import Instance, InstanceState

__all__ = ["describe", "find", "list_instances", "next_waiting", "switch"]


def describe(
    rt: Runtime,
    inst: Instance,
    *,
    stats: bool = False,
    panes: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    server = rt.server(inst.id)
    data: dict[str, Any] = {
        "n": rt.registry.number_of(inst.id),
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
        "exit": inst.exit.to_dict() if inst.exit is not None else None,
        "lock_file": str(rt.ports.locks.file_for(inst.port)),
        "worktree_missing": not os.path.isdir(inst.worktree),
    }
    permission = rt.permissions.get(inst.id)
    if permission is not None:
        data["permission"] = {"mode": permission.mode, "chosen_by": permission.chosen_by, "reason": permission.reason}
    if stats:
        pids = []
        for pane, info in (panes if panes is not None else rt.ports.tmux.panes()).items():
            if pane in (inst.nvim_pane, inst.claude_pane) and info["pid"].isdigit():
                pids.append(int(info["pid"]))
        tree = rt.ports.processes.tree_stats(pids, rt.monitor.proc_cache.setdefault(inst.id, {}))
        data["stats"] = {
            "rss_mb": tree.rss_mb,
            "cpu_percent": tree.cpu_percent,
            "processes": tree.processes,
        }
    return data


def _active_windows(rt: Runtime, client: ClientContext) -> set[str]:
    rows = rt.ports.tmux.windows()
    if client.pane:
        info = rt.ports.tmux.pane_info(client.pane)
        if info:
            return {r.window_id for r in rows if r.session_id == info["session_id"] and r.active}
    # Outside tmux: the active window of attached sessions, or of every session when none is attached.
    attached = [r for r in rows if r.session_attached]
    return {r.window_id for r in (attached or rows) if r.active}


def list_instances(rt: Runtime, client: ClientContext, *, stats: bool = False) -> list[dict[str, Any]]:
    active = _active_windows(rt, client)
    panes = rt.ports.tmux.panes() if stats else None
    if stats:
        for gone in set(rt.monitor.proc_cache) - {i.id for i in rt.registry.ordered()}:
            del rt.monitor.proc_cache[gone]
    out = []
    for inst in rt.registry.ordered():
        data = describe(rt, inst, stats=stats, panes=panes)
        data["active"] = inst.window_id in active
        out.append(data)
    return out


async def find(rt: Runtime, ref: str | None, client: ClientContext) -> Instance:
    """The instance ``ref`` names (number, id, name, repo/branch, branch, repo name: ``Registry.find``) or,
    without one, the caller's pane or directory."""
    if ref:
        inst = rt.registry.find(ref)
        if inst is None:
            raise InstanceError(f"no instance {ref!r} (see `tmuxclaude ls`)")
        return inst
    if client.pane:
        info = rt.ports.tmux.pane_info(client.pane)
        if info:
            inst = rt.registry.by_pane_or_window(info["window_id"]) or rt.registry.by_pane_or_window(client.pane)
            if inst is not None:
                return inst
    with contextlib.suppress(WorktreeError):
        # In a thread: it reads the worktree's git files, and the caller may hold the controller lock.
        root = (await asyncio.to_thread(rt.ports.git.resolve_worktree, client.cwd)).root
        inst = rt.registry.by_worktree(root)
        if inst is not None:
            return inst
    raise InstanceError("no instance for this pane or directory; name one (see `tmuxclaude ls`)")


async def switch(rt: Runtime, ref: str, client: ClientContext) -> dict[str, Any]:
    inst = await find(rt, ref, client)
    rt.ports.tmux.select(inst.window_id, inst.claude_pane, client.pane or None)
    return describe(rt, inst)


def next_waiting(rt: Runtime, client: ClientContext) -> dict[str, Any]:
    """Switch to the next instance waiting for input, after the current one in ls order."""
    items = rt.registry.ordered()
    current = ""
    if client.pane:
        info = rt.ports.tmux.pane_info(client.pane)
        current = info["window_id"] if info else ""
    start = next((n for n, i in enumerate(items) if i.window_id == current), -1)
    rotated = items[start + 1 :] + items[: start + 1]
    for inst in rotated:
        if inst.state is InstanceState.WAITING:
            rt.ports.tmux.select(inst.window_id, inst.claude_pane, client.pane or None)
            return describe(rt, inst)
    raise InstanceError("no instance is waiting for input")

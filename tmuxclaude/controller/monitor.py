"""The periodic tick: stuck busy states, idle pauses, memory limits, and offering an instance to a shell that
cd'd into a worktree of a repo tmuxclaude already runs."""

from __future__ import annotations

import asyncio
import contextlib

from tmuxclaude.controller import claude_worktrees
from tmuxclaude.controller.lifecycle import apply_if_allowed
from tmuxclaude.controller.pausing import pause
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.controller.views import list_instances
from tmuxclaude.errors import TmuxClaudeError, WorktreeError
from tmuxclaude.model.instance import InstanceState
from tmuxclaude.model.lifecycle import Event

__all__ = ["tick"]


async def tick(rt: Runtime) -> None:
    """Periodic checks: stuck busy states, idle pauses, memory limits, worktree offers."""
    now = rt.ports.clock.time()
    limits = rt.config.limits
    claude_worktrees.guard_root_locks(rt)
    if rt.config.multi_instance.auto_start_for_worktree:
        await claude_worktrees.offer_worktree_sessions(rt)
        await _offer_worktrees(rt)
    activity = rt.ports.tmux.window_activity()
    for inst in rt.registry.ordered():
        if inst.state is InstanceState.BUSY and limits.busy_timeout_s > 0:
            # An interrupt (Esc) fires no hook: a busy pane that has shown nothing for a while is not busy.
            last = max(activity.get(inst.window_id, 0.0), inst.state_since)
            if now - last > limits.busy_timeout_s:
                apply_if_allowed(rt, inst.id, Event.IDLE)
        elif (
            limits.idle_minutes > 0
            and inst.state in (InstanceState.IDLE, InstanceState.WAITING)
            and inst.state_since
            and now - max(inst.state_since, activity.get(inst.window_id, 0.0)) > limits.idle_minutes * 60
        ):
            rt.event(f"{inst.name}: idle for {limits.idle_minutes} min; pausing")
            with contextlib.suppress(TmuxClaudeError):
                await pause(rt, inst.name, ClientContext(cwd=inst.worktree))
    if limits.max_rss_mb > 0 and now - rt.monitor.last_rss_check >= 10:
        _check_memory(rt, now)


def _check_memory(rt: Runtime, now: float) -> None:
    limit = rt.config.limits.max_rss_mb
    rt.monitor.last_rss_check = now
    for item in list_instances(rt, ClientContext(cwd="/"), stats=True):
        rss = item["stats"]["rss_mb"]
        over = rss > limit
        found = rt.registry.get(item["id"])
        if found is None:
            continue
        rt.ports.tmux.set_window_options(found.window_id, {"warn": "rss" if over else ""}, check=False)
        if over and found.id not in rt.monitor.rss_warned:
            rt.monitor.rss_warned.add(found.id)
            rt.ports.tmux.message_clients(f"tmuxclaude: {found.name} uses {rss:.0f} MB (limit {limit})")
        elif not over:
            rt.monitor.rss_warned.discard(found.id)


async def _offer_worktrees(rt: Runtime) -> None:
    """A shell pane that cd'd into a worktree of a repo tmuxclaude already runs, with no instance of its own:
    offer it (a message naming the key), once per pane and worktree. tmux has no "cd" hook; the pane's
    current path, read in the periodic tick, is what tells."""
    repos = {i.repo for i in rt.registry.ordered()}
    if not repos:
        return
    ours = {p for i in rt.registry.ordered() for p in (i.nvim_pane, i.claude_pane)}
    for pane, path in rt.ports.tmux.pane_paths().items():
        if pane in ours or rt.monitor.offered.get(pane) == path:
            continue
        rt.monitor.offered[pane] = path
        try:
            info = await asyncio.to_thread(rt.ports.git.resolve_worktree, path)
        except WorktreeError:
            continue
        if info.main_root in repos and rt.registry.by_worktree(info.root) is None:
            text = f"tmuxclaude: {info.root} has no instance; `tmuxclaude open` (the plugin's o key) starts one"
            rt.ports.tmux.show_message(pane, text)
            rt.event(f"offered an instance for {info.root} (pane {pane})")

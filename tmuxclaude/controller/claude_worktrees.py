"""``claude --worktree NAME`` sessions (``<repo>/.claude/worktrees/NAME``) in repositories tmuxclaude runs: offered
as instances from the periodic tick, and kept from being captured by the repository root's lock file."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from tmuxclaude.controller.launch import write_lock
from tmuxclaude.controller.runtime import Runtime
from tmuxclaude.errors import TmuxClaudeError
from tmuxclaude.model.claude_sessions import ClaudeSession, claude_worktree_of, lock_workspace, parse_session_file

__all__ = ["guard_root_locks", "offer_worktree_sessions"]

log = logging.getLogger(__name__)


def _read_sessions(rt: Runtime) -> list[ClaudeSession]:
    env = {**os.environ, **rt.config.commands.shell_env, **rt.config.commands.claude_env}
    cs = rt.ports.claude_sessions
    found = (parse_session_file(d) for d in cs.read_session_files(cs.claude_config_dir(env)))
    return [s for s in found if s is not None]


async def offer_worktree_sessions(rt: Runtime) -> None:
    """An interactive Claude in ``.claude/worktrees/NAME`` of a repository with instances, and no instance of
    that worktree: a message in its pane (else on every client), once per process."""
    repos = {i.repo for i in rt.registry.ordered()}
    if not repos:
        return
    sessions = await asyncio.to_thread(_read_sessions, rt)
    offered = rt.monitor.offered_sessions
    live = {s.pid for s in sessions if s.pid is not None}
    offered &= live
    ours = {i.claude_session_id for i in rt.registry.ordered()}
    pane_pids: dict[int, str] | None = None
    for s in sessions:
        if s.pid is None or s.pid in offered or s.session_id in ours:
            continue
        where = claude_worktree_of(s.cwd, repos)
        if where is None or rt.registry.by_worktree(where[1]) is not None:
            continue
        offered.add(s.pid)
        if pane_pids is None:
            pane_pids = {int(p["pid"]): pane for pane, p in rt.ports.tmux.panes().items() if p["pid"].isdigit()}
        pane = rt.ports.processes.pane_of(s.pid, pane_pids)
        rel = os.path.relpath(where[1], where[0])
        text = (
            f"tmuxclaude: Claude in {rel} has no editor; `tmuxclaude open {rel}` starts an instance there,"
            f" `tmuxclaude open --yes {s.session_id[:8]}` moves this conversation into one"
        )
        if pane:
            rt.ports.tmux.show_message(pane, text)
            # The plain worktree offer (monitor.py) would say it again for this pane's new directory.
            rt.monitor.offered[pane] = rt.ports.tmux.pane_paths().get(pane, "")
        else:
            rt.ports.tmux.message_clients(text)
        rt.event(f"offered an instance for Claude session {s.session_id[:8]} in {where[1]} (pane {pane or '-'})")


def guard_root_locks(rt: Runtime) -> None:
    """A repository root's instance whose lock names its workspace while ``claude --worktree`` sessions exist
    under it (or names none after they are gone): rewritten (model/claude_sessions.py ``lock_workspace``)."""
    for inst in rt.registry.ordered():
        if inst.worktree.rstrip("/") != inst.repo.rstrip("/") or not inst.port:
            continue
        raw = rt.ports.locks.read_raw(inst.port)
        if raw is None:
            continue
        wanted = list(
            lock_workspace(inst.worktree, inst.repo, rt.ports.claude_sessions.has_claude_worktrees(inst.repo))
        )
        if raw.get("workspaceFolders") != wanted:
            with contextlib.suppress(TmuxClaudeError, OSError):
                write_lock(rt, inst)
                rt.event(f"{inst.name}: lock workspace {'none' if not wanted else inst.worktree}")

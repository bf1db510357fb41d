"""Claude Code's own sessions join the fleet: forks recorded from an instance's hooks, ``ls --all`` (sessions of
this user that tmuxclaude did not start, in repositories it runs instances of), and ``open SESSION`` (promotion:
its own worktree, window, Neovim, IDE port and lock file, its conversation resumed there)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from tmuxclaude.controller.bootstrap import post_create
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.controller.spawn import check_limit, spawn
from tmuxclaude.controller.views import describe
from tmuxclaude.errors import InstanceError, WorktreeError
from tmuxclaude.model.claude_sessions import (
    ClaudeSession,
    branch_for,
    merge_forks,
    parse_agents,
    promote_args,
)
from tmuxclaude.model.instance import Instance

__all__ = ["collect", "list_sessions", "promote"]

log = logging.getLogger(__name__)

_FORK_GRACE_S = 30.0
"""A fork recorded from its hook and not listed by ``claude agents`` for this long is gone (stopped, removed)."""


def _cli_env(rt: Runtime) -> dict[str, str]:
    """The environment an instance's Claude gets (its config dir and PATH), for the CLI runs made here."""
    return {**os.environ, **rt.config.commands.shell_env, **rt.config.commands.claude_env}


def _read_agents(rt: Runtime) -> tuple[list[ClaudeSession], bool]:
    env = _cli_env(rt)
    cs = rt.ports.claude_sessions
    raw = cs.list_agents(rt.config.commands.claude, env)
    if raw is None:
        return [], False
    config_dir = cs.claude_config_dir(env)
    jobs = {
        str(e["id"]): cs.read_job(config_dir, str(e["id"]))
        for e in raw[:500]
        if isinstance(e, dict) and e.get("kind") == "background" and isinstance(e.get("id"), str)
    }
    return parse_agents(raw, jobs), True


def _place(rt: Runtime, session: ClaudeSession, repos: set[str]) -> ClaudeSession | None:
    """Where it shows: under its parent instance (a fork), else the instance whose worktree holds its cwd, else
    its repository; None when it is in no repository tmuxclaude runs instances of."""
    if session.instance_id and rt.registry.get(session.instance_id) is not None:
        return session
    where = session.worktree_path or session.cwd
    best: Instance | None = None
    for inst in rt.registry.ordered():
        root = inst.worktree.rstrip("/")
        if (where == root or where.startswith(root + "/")) and (best is None or len(root) > len(best.worktree)):
            best = inst
    if best is not None and not where.startswith(best.worktree.rstrip("/") + "/.claude/worktrees/"):
        return replace(session, instance_id=best.id, repo=best.repo)
    for repo in repos:
        if where == repo or where.startswith(repo.rstrip("/") + "/"):
            return replace(session, repo=repo)
    try:
        info = rt.ports.git.resolve_worktree(where)
    except WorktreeError:
        return None
    return replace(session, repo=info.main_root) if info.main_root in repos else None


def _in_claude_panes(rt: Runtime, sessions: list[ClaudeSession]) -> set[str]:
    """Sessions whose process runs in an instance's Claude pane: the instance's own, even before its first hook
    told its session id."""
    panes = rt.ports.tmux.panes()
    pane_pids = {
        int(panes[i.claude_pane]["pid"]): i.claude_pane
        for i in rt.registry.ordered()
        if i.claude_pane in panes and panes[i.claude_pane]["pid"].isdigit()
    }
    return {s.session_id for s in sessions if s.pid is not None and rt.ports.processes.pane_of(s.pid, pane_pids)}


async def collect(rt: Runtime) -> list[ClaudeSession]:
    """Every session to show, in display order (their numbers are their 1-based positions)."""
    listed, answered = await asyncio.to_thread(_read_agents, rt)
    ours = {i.claude_session_id for i in rt.registry.ordered() if i.claude_session_id}
    ours |= await asyncio.to_thread(_in_claude_panes, rt, [s for s in listed if s.kind == "interactive"])
    now = rt.ports.clock.time()
    listed_ids = {s.session_id for s in listed}
    for sid, fork in list(rt.forks.items()):
        gone = answered and sid not in listed_ids and now - fork.started_at > _FORK_GRACE_S
        if sid in ours or gone or rt.registry.get(fork.instance_id) is None:
            del rt.forks[sid]
    repos = {i.repo for i in rt.registry.ordered()}
    parents = {i.claude_session_id: (i.id, i.repo) for i in rt.registry.ordered() if i.claude_session_id}
    sessions = merge_forks((s for s in listed if s.session_id not in ours), rt.forks.values(), parents)
    placed = []
    for s in sessions:
        found = await asyncio.to_thread(_place, rt, s, repos) if not s.instance_id else _place(rt, s, repos)
        if found is not None:
            placed.append(found)
    order = {inst.id: n for n, inst in enumerate(rt.registry.ordered())}
    placed.sort(key=lambda s: (s.repo, order.get(s.instance_id, len(order)), s.started_at, s.session_id))
    return placed


async def list_sessions(rt: Runtime) -> list[dict[str, Any]]:
    """``ls --all``'s sessions: numbered, each with the instance (name) or repository it shows under."""
    items = []
    for n, s in enumerate(await collect(rt), 1):
        inst = rt.registry.get(s.instance_id) if s.instance_id else None
        items.append(s.to_dict() | {"n": n, "instance": inst.name if inst else ""})
    return items


def _resolve(sessions: list[ClaudeSession], ref: str) -> ClaudeSession:
    ref = ref.strip()
    if ref.isdigit() and 0 < int(ref) <= len(sessions):
        return sessions[int(ref) - 1]
    exact = [s for s in sessions if ref in (s.session_id, s.job_id, s.name) and ref]
    if len(exact) == 1:
        return exact[0]
    prefix = [s for s in sessions if len(ref) >= 6 and s.session_id.startswith(ref)]
    if len(exact) > 1 or len(prefix) > 1:
        raise InstanceError(f"{ref!r} names several Claude sessions; use its number or id from `tmuxclaude ls --all`")
    if prefix:
        return prefix[0]
    raise InstanceError(f"no Claude session {ref!r} (see `tmuxclaude ls --all`)")


def _conversation(rt: Runtime, session: ClaudeSession) -> ClaudeSession:
    """Whether its own transcript exists; if not, the parent it was forked from (a fork with no prompt yet)."""
    cs = rt.ports.claude_sessions
    config_dir = cs.claude_config_dir(_cli_env(rt))
    if cs.conversation_exists(config_dir, session.session_id):
        return session
    parent = session.parent_session_id or (cs.parent_session_of(config_dir, session.job_id) if session.job_id else "")
    if not parent:
        raise InstanceError(f"no conversation of session {session.session_id} found to continue")
    return replace(session, transcript_only=True, parent_session_id=parent)


async def promote(rt: Runtime, ref: str, client: ClientContext, *, yes: bool, focus: bool) -> dict[str, Any]:
    """``open SESSION``: the session becomes an instance; its conversation continues there.

    Everything that can refuse (the limit, a missing conversation, the worktree) comes before the session is
    stopped: a refusal leaves it running where it was, listed and promotable once the cause is fixed."""
    session = _resolve(await collect(rt), ref)
    label = session.name or session.session_id
    if session.kind == "interactive" and not yes:
        raise InstanceError(
            f"{label} runs interactively (pid {session.pid}); `tmuxclaude open --yes {session.session_id}`"
            " ends it there and continues its conversation in a new instance"
        )
    check_limit(rt)
    session = await asyncio.to_thread(_conversation, rt, session)
    where = session.worktree_path if session.worktree_path and os.path.isdir(session.worktree_path) else session.cwd
    info = await asyncio.to_thread(rt.ports.git.resolve_worktree, where)
    created = False
    async with rt.lock:
        check_limit(rt)
        if info.is_main or rt.registry.by_worktree(info.root) is not None:
            # Its cwd is the repo root or another instance's worktree: a worktree and branch of its own, made the
            # way `new` makes one (its includes copied, post_create run).
            branch = branch_for(session)
            base = info.branch if not info.branch.startswith(("HEAD@", "(")) else None
            location = rt.ports.git.worktree_location(rt.config.worktrees.dir, info, branch)
            main = Path(info.main_root)
            patterns = await asyncio.to_thread(rt.ports.files.include_patterns, main, rt.config.worktrees.include)
            info = await asyncio.to_thread(rt.ports.git.create_worktree, info, branch, base=base, location=location)
            await asyncio.to_thread(
                rt.ports.files.copy_includes, main, Path(info.root), patterns, symlink=rt.config.worktrees.symlink
            )
            created = True
        if session.kind == "interactive" and session.pid is not None:
            # Asked to exit (SIGTERM), a few seconds to go: one process per conversation.
            if not await asyncio.to_thread(rt.ports.processes.end_process, session.pid):
                raise InstanceError(f"the Claude session (pid {session.pid}) did not exit; nothing was started")
        elif session.job_id:
            # A background session (or a listed fork) is stopped first: one process per conversation.
            await asyncio.to_thread(
                rt.ports.claude_sessions.stop_job, rt.config.commands.claude, _cli_env(rt), session.job_id
            )
        inst = await spawn(rt, info, client, focus=focus, resume_args=promote_args(session))
        inst = rt.update(inst, claude_session_id=session.session_id)
    with contextlib.suppress(KeyError):
        del rt.forks[session.session_id]
    rt.event(f"{inst.name}: promoted Claude session {session.session_id[:8]} ({session.kind})")
    if created:
        await post_create(rt.config, inst)
    return describe(rt, inst)

"""Starting instances, all or nothing: ``new`` (worktree + instance), ``open`` (instance for a worktree), and the
spawn both share (also used by ``restore`` to bring an instance back on its old port and token).

Spawn acquires resources in order (port; hook files and tmux window; the served instance: IDE server, hook and lock
files; registry entry, Neovim link); every step pushes its undo on one ``contextlib.AsyncExitStack``, so a failure
undoes what was acquired, in reverse. Worktrees are created on request and never removed as a side effect of a
failure. Git and file work runs in a thread, never on the event loop under the controller lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from tmuxclaude.controller.bootstrap import post_create
from tmuxclaude.controller.launch import create_panes, kill_panes, remove_hook_files, resume_args
from tmuxclaude.controller.lifecycle import apply
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.controller.served import ServedInstance, reserve_free_port
from tmuxclaude.controller.views import describe
from tmuxclaude.errors import InstanceError, LimitError, WorktreeError
from tmuxclaude.model.instance import Instance, InstanceState, Phase
from tmuxclaude.model.lifecycle import Event
from tmuxclaude.model.naming import NameParts, instance_name
from tmuxclaude.model.view import InstanceView
from tmuxclaude.model.worktree import WorktreeInfo

__all__ = ["check_limit", "new", "open_worktree", "spawn"]

log = logging.getLogger(__name__)


def check_limit(rt: Runtime) -> None:
    """Refuse a start past the limit, naming what runs (the one to kill, with multi_instance off)."""
    limit = rt.config.effective_max_instances
    # Orphaned and dead records hold no window, process or port: only live instances count.
    active = [i for i in rt.registry.ordered() if i.state not in (InstanceState.DEAD, InstanceState.ORPHANED)]
    if len(active) >= limit:
        names = ", ".join(i.name for i in active)
        if not rt.config.multi_instance.enabled:
            raise LimitError(
                f"multi_instance.enabled is false and {names} is running: one instance at a time"
                f" (`tmuxclaude kill {active[0].name}` first, or `tmuxclaude switch {active[0].name}`)"
            )
        raise LimitError(
            f"max_instances ({limit}) reached ({names}); kill an instance or raise multi_instance.max_instances"
        )


def _name_for(rt: Runtime, info: WorktreeInfo) -> str:
    parts = NameParts(repo=info.repo_name, branch=info.branch, worktree=Path(info.root).name, n=len(rt.registry) + 1)
    wanted = instance_name(rt.config.instance_naming, parts, rt.ports.formatter)
    return rt.registry.unique_name(wanted, repo=info.repo_name)


async def _refuse_existing_branch(rt: Runtime, info: WorktreeInfo, branch: str) -> None:
    """``new BRANCH`` for a branch that already has a worktree: point at its instance (or at `open`)."""
    path = await asyncio.to_thread(rt.ports.git.worktree_for_branch, info, branch)
    inst = rt.registry.by_worktree(path) if path else None
    if inst is not None:
        raise InstanceError(
            f"{branch} already has an instance, {inst.name} ({path}): `tmuxclaude switch {inst.name}` goes there"
        )


async def new(rt: Runtime, branch: str, base: str | None, client: ClientContext, focus: bool = True) -> InstanceView:
    info = await asyncio.to_thread(rt.ports.git.resolve_worktree, client.cwd)
    location = rt.ports.git.worktree_location(rt.config.worktrees.dir, info, branch)
    # A bad include pattern (or a hostile .worktreeinclude) is refused before anything is created.
    patterns = await asyncio.to_thread(
        rt.ports.files.include_patterns, Path(info.main_root), rt.config.worktrees.include
    )
    async with rt.lock:
        # The branch's own instance is looked up (a git process) only when the start is refused anyway.
        try:
            check_limit(rt)
            created = await asyncio.to_thread(rt.ports.git.create_worktree, info, branch, base=base, location=location)
        except (LimitError, WorktreeError):
            await _refuse_existing_branch(rt, info, branch)
            raise
        await asyncio.to_thread(
            rt.ports.files.copy_includes,
            Path(info.main_root),
            Path(created.root),
            patterns,
            symlink=rt.config.worktrees.symlink,
        )
        inst = await spawn(rt, created, client, focus=focus)
    await post_create(rt.config, inst)
    return describe(rt, inst)


async def open_worktree(
    rt: Runtime, path: str, client: ClientContext, nvim_server: str = "", focus: bool = True
) -> InstanceView:
    """The instance of the worktree holding ``path`` (the caller's cwd by default): focused if it exists."""
    info = await asyncio.to_thread(rt.ports.git.resolve_worktree, path or client.cwd)
    async with rt.lock:
        existing = rt.registry.by_worktree(info.root)
        if existing is not None and existing.state in (InstanceState.ORPHANED, InstanceState.DEAD):
            # Its windows went away (or it was marked dead before the worktree came back): bring it back,
            # on its old port and token, its Claude resuming its conversation.
            check_limit(rt)
            inst = await spawn(rt, info, client, focus=focus, reuse=existing, resume_args=resume_args(existing))
            return describe(rt, inst)
        if existing is not None:
            if existing.state is InstanceState.PAUSED:
                raise InstanceError(f"{existing.name} is paused; `tmuxclaude resume {existing.name}`")
            if focus:
                rt.ports.tmux.select(existing.window_id, existing.claude_pane, client.pane or None)
            return replace(describe(rt, existing), existing=True)
        check_limit(rt)
        _check_nvim_server(rt, nvim_server)
        inst = await spawn(rt, info, client, focus=focus, nvim_server=nvim_server)
    return describe(rt, inst)


def _check_nvim_server(rt: Runtime, address: str) -> None:
    """A user's Neovim to join must be the user's: a socket another user serves is refused up front (its peer
    is checked again on every connect; a ``host:port`` one only then)."""
    if "/" not in address:
        return
    try:
        rt.ports.files.check_private_socket(Path(address))
    except OSError as exc:
        raise InstanceError(f"no Neovim listens at {address}: {exc.strerror or exc}") from None


def _quietly(step: Callable[[], object]) -> Callable[[], None]:
    """A rollback step: its own failure is logged, and the other steps and the original error go on."""

    def run() -> None:
        try:
            step()
        except Exception:
            log.exception("rollback step failed")

    return run


def _quietly_async(step: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await step()
        except Exception:
            log.exception("rollback step failed")

    return run


def _new_record(rt: Runtime, info: WorktreeInfo, client: ClientContext, port: int, nvim_server: str) -> Instance:
    parent = rt.registry.by_pane_or_window(client.pane) if client.pane else None
    instance_id = secrets.token_hex(4)
    return Instance(
        id=instance_id,
        name=_name_for(rt, info),
        worktree=info.root,
        repo=info.main_root,
        branch=info.branch,
        port=port,
        token=secrets.token_urlsafe(32),
        hook_token=secrets.token_urlsafe(24),
        created_at=rt.ports.clock.time(),
        parent_port=parent.port if parent else None,
        external_nvim=bool(nvim_server),
        nvim_socket=nvim_server or str(rt.ports.paths.nvim_socket(instance_id)),
    )


def _put_back(rt: Runtime, instance_id: str, before: Instance | None) -> None:
    """Undo a spawn's registry write: the record as it was (a restore's orphan), or none (a new instance)."""
    if before is None:
        rt.registry.remove(instance_id)
    else:
        rt.registry.put(before)
    rt.save()


_START_EVENTS = {
    Phase.STARTING: (Event.STARTED,),
    Phase.ORPHANED: (Event.RESTORE, Event.STARTED),
    Phase.DEAD: (Event.RESERVED,),
}
"""How a record spawn brought up becomes running: a new one starts; an orphan is restored, then starts; a record
marked dead whose worktree came back runs again."""


async def spawn(
    rt: Runtime,
    info: WorktreeInfo,
    client: ClientContext,
    *,
    focus: bool,
    nvim_server: str = "",
    reuse: Instance | None = None,
    resume_args: list[str] | None = None,
) -> Instance:
    """Start one instance, all or nothing. ``reuse``: an existing record, served again on its own port."""
    async with contextlib.AsyncExitStack() as undo:
        if reuse is not None:
            sock = rt.ports.net.bind_port(reuse.port)
            # A new Claude starts against it: new tokens cost nothing, and old ones may have leaked while the
            # port was not served.
            inst = reuse.with_(token=secrets.token_urlsafe(32), hook_token=secrets.token_urlsafe(24))
        else:
            sock = reserve_free_port(rt)
            inst = _new_record(rt, info, client, sock.getsockname()[1], nvim_server)
            new_port = inst.port
            undo.callback(_quietly(lambda: rt.ports.net.release(new_port)))
        undo.callback(_quietly(sock.close))
        # Claude's pane starts before the IDE server and the lock file: it reads its settings and hook files at
        # start (create_panes writes them), the lock file only when it looks for its IDE, half a second or more
        # later, and a connect or hook that comes earlier waits in the bound socket's listen backlog.
        iid = inst.id
        undo.callback(_quietly(lambda: remove_hook_files(rt, iid)))
        inst = await asyncio.to_thread(create_panes, rt, inst, client, focus, resume_args or [])
        panes = inst
        undo.callback(_quietly(lambda: kill_panes(rt, panes)))
        served = await ServedInstance.open(rt, inst, sock, link=False)
        undo.push_async_callback(_quietly_async(served.close))
        before = rt.registry.get(inst.id)
        undo.callback(_quietly(lambda: _put_back(rt, inst.id, before)))
        rt.registry.put(inst)
        for event in _START_EVENTS.get(inst.phase, ()):
            inst = apply(rt, inst.id, event) or inst
        served.start_link()
        rt.event(f"started {inst.name} on port {inst.port}")
        undo.pop_all()
    return inst

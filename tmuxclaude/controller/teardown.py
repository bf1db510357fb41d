"""Ending instances: ``kill`` (optionally removing the worktree), ``kill_all``, the teardown they share with
reconciliation, and ``orphan`` (windows lost: stop serving, keep the record). Teardown runs every step even when
earlier ones fail or find their piece already gone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import replace

from tmuxclaude.controller import comments
from tmuxclaude.controller.launch import kill_panes, remove_hook_files
from tmuxclaude.controller.lifecycle import apply
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.controller.served import Step, run_every_step
from tmuxclaude.controller.status import publish_summary
from tmuxclaude.controller.views import describe, find
from tmuxclaude.errors import UnsafeRemovalError
from tmuxclaude.model.instance import Instance
from tmuxclaude.model.lifecycle import Event
from tmuxclaude.model.view import InstanceView

__all__ = ["forget", "kill", "kill_all", "orphan", "stop_serving", "teardown"]

log = logging.getLogger(__name__)


async def kill(
    rt: Runtime, ref: str | None, client: ClientContext, *, remove_worktree: bool = False, force: bool = False
) -> InstanceView:
    async with rt.lock:
        inst = await find(rt, ref, client)
        on_disk = os.path.isdir(inst.worktree)
        if remove_worktree and not force and on_disk:
            # Refuse before touching anything: a refused removal must not leave a half-killed instance.
            reasons = await asyncio.to_thread(rt.ports.git.unsafe_reasons, inst.worktree)
            if reasons:
                raise UnsafeRemovalError(
                    f"worktree {inst.worktree} has {', '.join(reasons)}; commit/push first or pass --force"
                )
        info = describe(rt, inst)
        await teardown(rt, inst, kill_window=True)
        if remove_worktree:
            if on_disk:
                await asyncio.to_thread(rt.ports.git.remove_worktree, inst.worktree, force=force)
            else:
                # Deleted from disk already: only git's record of it is left to drop.
                await asyncio.to_thread(rt.ports.git.prune_worktrees, inst.repo)
            info = replace(info, worktree_removed=True)
        return info


async def kill_all(rt: Runtime) -> list[str]:
    """Kill every instance; one failing teardown does not stop the others (errors are raised together)."""
    async with rt.lock:
        names = []
        errors: list[Exception] = []
        for inst in rt.registry.ordered():
            try:
                await teardown(rt, inst, kill_window=True)
            except Exception as exc:
                errors.append(exc)
            names.append(inst.name)
        if errors:
            raise ExceptionGroup(f"kill-all: {len(errors)} of {len(names)} teardowns had errors", errors)
        return names


async def stop_serving(rt: Runtime, instance_id: str, *, keep_files: bool = False) -> None:
    """Close what the instance holds while served (controller/served.py), if it is served."""
    served = rt.served.get(instance_id)
    if served is not None:
        await served.close(keep_files=keep_files)


async def orphan(rt: Runtime, inst: Instance) -> None:
    """Its windows went away with nobody asking: stop serving it, keep the record for ``restore``.

    The lock file goes (no Claude must find a port nobody serves); port, token and Claude session stay.
    """
    try:
        await stop_serving(rt, inst.id)
    finally:
        apply(rt, inst.id, Event.WINDOWS_LOST, window_id="", nvim_pane="", claude_pane="")
        rt.event(f"{inst.name}: windows gone; kept for restore")


async def teardown(rt: Runtime, inst: Instance, *, kill_window: bool) -> None:
    """Every step runs; pieces already gone are fine. Errors are collected and raised together."""
    steps: list[Step] = [("stop serving", lambda: stop_serving(rt, inst.id))]
    if kill_window:
        steps.append(("panes", lambda: kill_panes(rt, inst)))
    steps.append(("record and files", lambda: forget(rt, inst)))
    try:
        await run_every_step(steps, f"teardown of {inst.name}")
    finally:
        rt.event(f"stopped {inst.name}")


def forget(rt: Runtime, inst: Instance) -> None:
    """Drop the record and every file that belonged to it."""
    rt.registry.remove(inst.id)
    rt.ports.locks.remove(inst.port)  # not served any more (served.close removed it), or never was
    rt.ports.net.release(inst.port)  # the port keeper lets it go: no Claude of this instance connects any more
    rt.edits.forget(inst.id)
    comments.forget(rt, inst.id)
    rt.save()
    publish_summary(rt)
    remove_hook_files(rt, inst.id)
    if not inst.external_nvim:
        with contextlib.suppress(OSError):
            os.unlink(inst.nvim_socket)

"""The one writer of an instance's phase and activity.

``apply`` takes an event (model/lifecycle.py: a lifecycle move, or Claude's activity reported by a hook), checks it
against the transition table, writes the record, saves it when the phase moved (activity alone is not worth a
write), and shows the result everywhere it is seen: the window's tags, the instance's Neovim statusline, the global
status segment and ``watch`` streams, the waiting notice, and the prompts queued for an idle Claude. Nothing else
writes ``phase`` or ``activity`` (tests/controller/test_lifecycle_writer.py checks the source).
"""

from __future__ import annotations

import logging
from typing import Any

from tmuxclaude.controller import prompts
from tmuxclaude.controller.runtime import Runtime
from tmuxclaude.controller.status import notify_waiting, publish_summary, tag_window
from tmuxclaude.model.instance import Instance, InstanceState, Phase
from tmuxclaude.model.lifecycle import Event, LifecycleError, step
from tmuxclaude.model.states import GLYPHS

__all__ = ["apply", "apply_if_allowed", "push_to_nvim"]

log = logging.getLogger(__name__)


def apply(rt: Runtime, instance_id: str, event: Event, **changes: Any) -> Instance | None:
    """Move instance ``instance_id`` by ``event``, writing ``changes`` (other fields of its record) with it.
    Returns the new record (None: no such instance).

    Raises:
        LifecycleError: ``event`` does not apply in the instance's phase (the message says what to do instead).
    """
    inst = rt.registry.get(instance_id)
    if inst is None:
        return None
    try:
        phase, activity = step(inst.phase, inst.activity, event)
    except LifecycleError as exc:
        raise LifecycleError(f"{inst.name}: {exc}") from None
    if phase is Phase.STOPPED:
        raise LifecycleError(f"{inst.name}: {event} ends the instance: teardown does that, not a state change")
    moved = phase is not inst.phase or activity is not inst.activity
    if not moved and not changes:
        return inst
    since = rt.ports.clock.time() if moved else inst.state_since
    new = inst.with_(phase=phase, activity=activity, state_since=since, **changes)
    rt.registry.put(new)
    if phase is not inst.phase or changes:
        rt.save()
    if moved:
        _show(rt, new, inst.state)
    return new


def apply_if_allowed(rt: Runtime, instance_id: str, event: Event, **changes: Any) -> Instance | None:
    """``apply`` for what reports rather than asks (a hook, the periodic tick, a pane's report): an event that
    does not apply now (a late hook of an orphaned instance, ...) is logged and ignored, with its changes."""
    try:
        return apply(rt, instance_id, event, **changes)
    except LifecycleError as exc:
        log.info("ignored: %s", exc)
        return None


def _show(rt: Runtime, inst: Instance, before: InstanceState) -> None:
    tag_window(rt, inst)
    push_to_nvim(rt, inst)
    publish_summary(rt)
    if inst.state is InstanceState.WAITING and before is not InstanceState.WAITING:
        notify_waiting(rt, inst)
    prompts.on_state(rt, inst.id, inst.state)


def push_to_nvim(rt: Runtime, inst: Instance) -> None:
    """The state for ``require('tmuxclaude').statusline()`` in the instance's Neovim: pushed (a notification) on
    every change, so the statusline reads a cached value."""
    nvim = rt.nvim(inst.id)
    if nvim is not None:
        nvim.push_status(inst.state.value, GLYPHS.get(inst.state, ""))

"""What Claude Code's hooks mean for an instance's state, and how states look in the status line (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tmuxclaude.model.claude import INTERRUPT_HOOK_SINCE, Version
from tmuxclaude.model.instance import InstanceState, Phase, split_state, state_of
from tmuxclaude.model.lifecycle import Event, step

__all__ = ["GLYPHS", "HOOK_EVENTS", "hook_event", "hook_events", "next_state", "summary_text"]

HOOK_EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Notification", "Stop", "SessionEnd")
"""The hooks tmuxclaude installs per instance (through ``claude --settings``), on every CLI."""


def hook_events(version: Version | None) -> tuple[str, ...]:
    """The hooks for a CLI of ``version``: ``Interrupt`` only where it exists (an unknown event stops an older CLI
    at start-up on a "Settings Warning" dialog); an unknown version gets the safe set, and the busy timeout."""
    if version is not None and version >= INTERRUPT_HOOK_SINCE:
        return (*HOOK_EVENTS, "Interrupt")
    return HOOK_EVENTS


GLYPHS: dict[InstanceState, str] = {
    InstanceState.STARTING: "…",
    InstanceState.IDLE: "○",
    InstanceState.BUSY: "●",
    InstanceState.WAITING: "◆",
    InstanceState.PAUSED: "‖",
    InstanceState.EXITED: "■",
    InstanceState.ORPHANED: "↺",
    InstanceState.DEAD: "✕",
}


_HOOK_ACTIVITY = {
    "UserPromptSubmit": Event.BUSY,
    "PreToolUse": Event.BUSY,
    "PostToolUse": Event.BUSY,
    "Notification": Event.WAITING,
    # A permission prompt or "waiting for your input": either way the user is needed.
    "Stop": Event.IDLE,
    "SessionStart": Event.IDLE,
    "SessionEnd": Event.IDLE,
    "Interrupt": Event.IDLE,
    # Interrupt (2.1.335+): Escape or Ctrl-C ended the turn, which sends no Stop.
}


def hook_event(phase: Phase, hook: str) -> Event | None:
    """The lifecycle event a Claude hook amounts to, or None. Hooks move only a starting or running Claude
    (model/lifecycle.py), and an exited one only by a Claude starting in its pane (SessionStart)."""
    if phase is Phase.EXITED:
        return Event.RESUME if hook == "SessionStart" else None
    if phase in (Phase.STARTING, Phase.RUNNING):
        return _HOOK_ACTIVITY.get(hook)
    return None


def next_state(current: InstanceState, hook: str) -> InstanceState:
    """The state shown after ``hook``: :func:`hook_event` applied by the lifecycle's table."""
    phase, activity = split_state(current)
    event = hook_event(phase, hook)
    if event is None:
        return current
    return state_of(*step(phase, activity, event))


def summary_text(states: Iterable[InstanceState]) -> str:
    """The global status segment: ``✻3 1● 1◆ 1○`` (total, then counts by state, busiest first)."""
    counts = Counter(states)
    total = sum(counts.values())
    if not total:
        return ""
    order = (InstanceState.WAITING, InstanceState.EXITED, InstanceState.BUSY, InstanceState.IDLE,
             InstanceState.STARTING, InstanceState.PAUSED, InstanceState.ORPHANED, InstanceState.DEAD)  # fmt: skip
    parts = [f"{counts[s]}{GLYPHS[s]}" for s in order if counts[s]]
    return f"✻{total} " + " ".join(parts)

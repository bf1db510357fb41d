"""What Claude Code's hooks mean for an instance's state, and how states look in the status line (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tmuxclaude.model.claude import INTERRUPT_HOOK_SINCE, Version
from tmuxclaude.model.instance import InstanceState

__all__ = ["GLYPHS", "HOOK_EVENTS", "hook_events", "next_state", "summary_text"]

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


def next_state(current: InstanceState, event: str) -> InstanceState:
    """The state after hook ``event``. Hooks move only a starting or running Claude (model/lifecycle.py), and an
    exited one only by a Claude starting in its pane (SessionStart)."""
    if current not in (InstanceState.STARTING, InstanceState.IDLE, InstanceState.BUSY, InstanceState.WAITING,
                       InstanceState.EXITED):  # fmt: skip
        return current
    if current is InstanceState.EXITED:
        return InstanceState.IDLE if event == "SessionStart" else current
    if event in ("UserPromptSubmit", "PreToolUse", "PostToolUse"):
        return InstanceState.BUSY
    if event == "Notification":
        # A permission prompt or "waiting for your input": either way the user is needed.
        return InstanceState.WAITING
    if event in ("Stop", "SessionStart", "SessionEnd", "Interrupt"):
        # Interrupt (2.1.335+): Escape or Ctrl-C ended the turn, which sends no Stop.
        return InstanceState.IDLE
    return current


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

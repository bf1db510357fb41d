"""What Claude Code's hooks mean for an instance's state, and how states look in the status line (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tmuxclaude.model.instance import InstanceState

__all__ = ["GLYPHS", "HOOK_EVENTS", "next_state", "summary_text"]

HOOK_EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Notification", "Stop", "SessionEnd")
"""The hooks tmuxclaude installs per instance (through ``claude --settings``)."""

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
    if event in ("Stop", "SessionStart", "SessionEnd"):
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

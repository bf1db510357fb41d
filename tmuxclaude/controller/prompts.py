"""Prompts the controller types into an instance's Claude (a review, the reason for a denied diff), only when that
Claude is idle.

Text typed into Claude's input box during a turn is handed to the model at the turn's next tool boundary, inside
that turn (docs: claude-cli.md), so a prompt meant as the next message waits here until the instance is idle: the
Stop hook (``status.set_state`` → ``on_state``) delivers what waits. State is checked again right before typing.

A denied openDiff is the one case the hooks do not cover: the CLI ends the turn on DIFF_REJECTED and no hook
fires (no Stop), the state stays ``waiting``. A prompt queued ``after_rejection`` is therefore delivered once no
diff of that instance is pending, no hook arrived since it was queued (a hook means the user or Claude moved on:
then the next Stop decides) and the Claude pane shows its empty input box again; bounded by a deadline, after
which it waits for the next idle like any other.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tmuxclaude.errors import TmuxClaudeError
from tmuxclaude.model.instance import InstanceState

if TYPE_CHECKING:
    from tmuxclaude.controller.runtime import Runtime

__all__ = ["Outbox", "after_hook", "on_state", "queue"]

log = logging.getLogger(__name__)

REJECTION_WAIT_S = 15.0
MAX_PROMPT = 100_000
MAX_QUEUED = 32
"""Prompts waiting per instance: every store is bounded in entries too."""
"""A prompt typed into Claude's input box stays below this (a paste of megabytes would stall its TUI)."""
_RULE = re.compile(r"^[─━]{8,}")
_INPUT = re.compile(r"^[❯>]\s*$")
_STATUS_LINES = 4
"""Lines the CLI may show under its input box (mode, shortcuts hint, notices)."""
INPUT_BOX_WAIT_S = 15.0
"""How long an idle instance's prompt waits for the input box to show (a start-up or other dialog) before it waits
for the next idle instead."""


@dataclass
class Pending:
    text: str
    on_sent: Callable[[], None] | None = None
    after_rejection: bool = False
    carries: frozenset[str] = frozenset()
    """Ids of the comments in ``text``: not offered again while this waits."""


@dataclass
class Outbox:
    """Per instance: what waits, and how many turn hooks arrived (a prompt after a rejection waits on none)."""

    pending: dict[str, list[Pending]] = field(default_factory=dict)
    hooks: dict[str, int] = field(default_factory=dict)
    delivering: set[str] = field(default_factory=set)

    def carried(self, instance_id: str) -> set[str]:
        """Ids of the comments in prompts still waiting for that instance."""
        return {cid for p in self.pending.get(instance_id, []) for cid in p.carries}

    def forget(self, instance_id: str) -> None:
        self.pending.pop(instance_id, None)
        self.hooks.pop(instance_id, None)


def outbox(rt: Runtime) -> Outbox:
    return rt.outbox


def queue(
    rt: Runtime, instance_id: str, text: str, *, on_sent: Callable[[], None] | None = None,
    after_rejection: bool = False, carries: frozenset[str] = frozenset(),
) -> str:  # fmt: skip
    """Queue ``text`` for that instance's Claude; delivered now if it is idle. Returns what to tell the user."""
    inst = rt.registry.get(instance_id)
    if inst is None:
        raise TmuxClaudeError("no such instance")
    if len(text) > MAX_PROMPT:
        raise TmuxClaudeError(f"the prompt would be {len(text)} characters (at most {MAX_PROMPT}): send fewer comments")
    if not inst.claude_pane:
        raise TmuxClaudeError(f"{inst.name} has no Claude pane")
    box = outbox(rt)
    if len(box.pending.get(instance_id, [])) >= MAX_QUEUED:
        raise TmuxClaudeError(f"{MAX_QUEUED} prompts already wait for {inst.name}; wait until it is idle")
    box.pending.setdefault(instance_id, []).append(Pending(text, on_sent, after_rejection, carries))
    if after_rejection:
        rt.background(_after_rejection(rt, instance_id, box.hooks.get(instance_id, 0)))
        return f"queued: delivered when {inst.name} is idle (after the rejection ends its turn)"
    if inst.state is InstanceState.IDLE:
        rt.background(deliver(rt, instance_id))
        return f"sent to {inst.name}"
    return f"queued: delivered when {inst.name} is idle"


MOVED_ON = frozenset({"SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd"})
"""Hooks that mean a new turn (or session) began or ended after a rejection; a Notification or an Interrupt
(2.1.335+, which may report the rejection itself) does not."""


def after_hook(rt: Runtime, instance_id: str, event: str) -> None:
    """A hook of that instance arrived (called from the hook endpoint)."""
    if event in MOVED_ON:
        box = outbox(rt)
        box.hooks[instance_id] = box.hooks.get(instance_id, 0) + 1


def on_state(rt: Runtime, instance_id: str, state: InstanceState) -> None:
    """The instance's state changed: an idle Claude gets what waits for it."""
    if state is InstanceState.IDLE and outbox(rt).pending.get(instance_id):
        rt.background(deliver(rt, instance_id))


def _input_box_ready(screen: str) -> bool:
    """The CLI's empty input box (a ``❯`` line right under a rule, a rule under it) is at the bottom of the screen,
    with at most its status lines below: no dialog (a dialog takes the box's place at the bottom; a box-like
    text higher up, such as a file or command output Claude shows, does not count)."""
    lines = [line.strip() for line in screen.splitlines() if line.strip()]
    return any(
        _RULE.match(lines[i - 1]) and _INPUT.match(lines[i]) and _RULE.match(lines[i + 1])
        for i in range(max(1, len(lines) - 2 - _STATUS_LINES), len(lines) - 1)
    )


async def _after_rejection(rt: Runtime, instance_id: str, hooks_before: int) -> None:
    box = outbox(rt)
    deadline = time.monotonic() + REJECTION_WAIT_S
    while time.monotonic() < deadline:
        inst = rt.registry.get(instance_id)
        if inst is None or box.hooks.get(instance_id, 0) != hooks_before:
            return  # gone, or the CLI moved on: the next idle delivers
        server = rt.server(instance_id)
        pending_diffs = getattr(server, "pending_diffs", None)
        busy_diffs = pending_diffs() if callable(pending_diffs) else 0
        if not busy_diffs:
            try:
                screen = await asyncio.to_thread(rt.ports.pane_text.capture_screen, inst.claude_pane)
            except TmuxClaudeError:
                return
            if _input_box_ready(screen):
                await deliver(rt, instance_id, rejection_ended=True)
                return
        await asyncio.sleep(0.1)
    log.info("%s: the turn after a rejection did not end in %.0fs; the prompt waits for idle", instance_id,
             REJECTION_WAIT_S)  # fmt: skip


async def _wait_input_box(rt: Runtime, instance_id: str, rejection_ended: bool) -> bool:
    """Claude's empty input box shows in the instance's pane (polled, bounded), while it stays idle."""
    deadline = time.monotonic() + INPUT_BOX_WAIT_S
    while True:
        inst = rt.registry.get(instance_id)
        if inst is None or not inst.claude_pane:
            return False
        if not rejection_ended and inst.state is not InstanceState.IDLE:
            return False
        try:
            screen = await asyncio.to_thread(rt.ports.pane_text.capture_screen, inst.claude_pane)
        except TmuxClaudeError:
            return False
        if _input_box_ready(screen):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.2)


async def deliver(rt: Runtime, instance_id: str, *, rejection_ended: bool = False) -> bool:
    """Type every waiting prompt of that instance into its Claude pane as one message, if it is (still) idle."""
    box = outbox(rt)
    if instance_id in box.delivering:
        return False
    box.delivering.add(instance_id)
    try:
        inst = rt.registry.get(instance_id)
        items = box.pending.get(instance_id) or []
        if inst is None or not items or not inst.claude_pane:
            return False
        if not rejection_ended and inst.state is not InstanceState.IDLE:
            return False  # checked right before typing: a prompt never lands in a running turn
        # Idle by the hooks is not enough: the pane may show a dialog (folder trust, a start-up question, a
        # permission prompt) whose default answer the prompt's Enter would pick, or the exit menu, whose keys
        # restart or kill. Only Claude's empty input box may receive it.
        if not await _wait_input_box(rt, instance_id, rejection_ended):
            log.info("%s: Claude's input box is not showing; the prompt waits for the next idle", inst.name)
            return False
        inst = rt.registry.get(instance_id)
        items = box.pending.get(instance_id) or []
        if inst is None or not items or not inst.claude_pane:
            return False
        box.pending.pop(instance_id, None)
        text = "\n\n".join(p.text.rstrip("\n") for p in items) + "\n"
        try:
            await asyncio.to_thread(rt.ports.pane_text.paste_prompt, inst.claude_pane, text)
        except TmuxClaudeError as exc:
            log.warning("%s: prompt not delivered: %s", inst.name, exc)
            box.pending.setdefault(instance_id, [])[:0] = items
            return False
        rt.event(f"{inst.name}: delivered a prompt ({len(text)} chars)")
        bridge = rt.nvim(instance_id)
        if bridge is not None:
            # The user was told "queued"; now they learn it went in (a notification: never waits on Neovim).
            bridge.say(f"delivered to {inst.name}'s Claude")
        for p in items:
            if p.on_sent is not None:
                p.on_sent()
        return True
    finally:
        box.delivering.discard(instance_id)

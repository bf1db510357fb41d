"""Instance states as tmux shows them: window tags, the global status segment, waiting notifications."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from tmuxclaude.controller.runtime import Runtime
from tmuxclaude.model.instance import Instance, InstanceState
from tmuxclaude.model.states import GLYPHS, summary_text

__all__ = ["glyph", "notify_waiting", "publish_summary", "refresh_all", "tag_window"]

log = logging.getLogger(__name__)


def glyph(rt: Runtime, state: InstanceState) -> str:
    """What the window shows for a state; multi_instance.instance_indicator = false shows nothing."""
    return GLYPHS[state] if rt.config.multi_instance.instance_indicator else ""


def tag_window(rt: Runtime, inst: Instance) -> None:
    if inst.window_id:
        rt.ports.tmux.set_window_options(
            inst.window_id, {"state": inst.state.value, "glyph": glyph(rt, inst.state)}, check=False
        )


def refresh_all(rt: Runtime) -> None:
    """Every window's tags and the summary again, for the current config (after a reload that changed
    instance_indicator the glyphs must go, or come back)."""
    for inst in rt.registry.ordered():
        tag_window(rt, inst)
    publish_summary(rt)


def publish_summary(rt: Runtime) -> None:
    """The global status segment: one option the status line reads (no process per redraw).

    Deferred to the next loop turn: a burst of changes costs one tmux call, after the reply has gone out.
    """
    if not rt.status.pending:
        rt.status.pending = True
        asyncio.get_running_loop().call_soon(_publish_summary_now, rt)


def _publish_summary_now(rt: Runtime) -> None:
    rt.status.pending = False
    from tmuxclaude.controller import watch

    watch.changed(rt)
    text = ""
    if rt.config.multi_instance.instance_indicator:
        remote = rt.hosts.states() if rt.hosts is not None else []
        text = summary_text([*(i.state for i in rt.registry.ordered()), *remote])
    if text != rt.status.summary:
        rt.status.summary = text
        rt.ports.tmux.set_global_option("@tmuxclaude_summary", text)


def notify_waiting(rt: Runtime, inst: Instance) -> None:
    if rt.config.status.message_on_waiting:
        rt.ports.tmux.message_clients(f"tmuxclaude: {inst.name} is waiting for input")
    if rt.config.status.bell_on_waiting and inst.claude_pane:
        # A BEL written to the pane's terminal makes tmux flag the window (monitor-bell) like any bell.
        tty = rt.ports.tmux.pane_tty(inst.claude_pane)
        if tty.startswith("/dev/"):
            with contextlib.suppress(OSError), open(tty, "w") as f:
                f.write("\a")

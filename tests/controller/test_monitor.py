"""The periodic tick on fakes (controller/monitor.py): a busy state nothing reports any more is cleared, an idle
Claude is paused after the configured time, and a shell that cd'd into a worktree of a running repo is offered
an instance, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.controller.fakes import World, make_world
from tmuxclaude.controller import monitor, reconcile, spawn
from tmuxclaude.controller.lifecycle import apply
from tmuxclaude.controller.runtime import ClientContext
from tmuxclaude.model.config import Config, LimitsConfig, MultiInstanceConfig
from tmuxclaude.model.instance import Instance, InstanceState
from tmuxclaude.model.lifecycle import Event

pytestmark = pytest.mark.unit


async def started(w: World, branch: str = "a") -> Instance:
    await spawn.new(w.rt, branch, None, ClientContext(cwd=str(w.git.repo)), focus=False)
    inst = w.rt.registry.find(branch)
    assert inst is not None
    return inst


async def after(w: World, inst: Instance, seconds: float) -> InstanceState:
    """The instance's state after ``seconds`` more and one tick."""
    w.clock.now += seconds
    await monitor.tick(w.rt)
    current = w.rt.registry.get(inst.id)
    assert current is not None
    return current.state


async def test_a_busy_state_with_a_silent_pane_is_cleared(w: World) -> None:
    inst = await started(w)
    apply(w.rt, inst.id, Event.BUSY)
    assert await after(w, inst, 5) is InstanceState.BUSY  # 10 s by default
    w.tmux.activity[inst.window_id] = w.clock.now  # the pane is still printing
    assert await after(w, inst, 8) is InstanceState.BUSY
    assert await after(w, inst, 11) is InstanceState.IDLE
    assert w.tmux.wins[inst.window_id].options["state"] == "idle"


async def test_an_idle_claude_is_paused_after_the_configured_time(tmp_path: Path) -> None:
    w = make_world(tmp_path, Config(limits=LimitsConfig(idle_minutes=2)))
    try:
        inst = await started(w)
        assert await after(w, inst, 90) is InstanceState.IDLE
        assert await after(w, inst, 60) is InstanceState.PAUSED
        pane, argv = w.tmux.respawned[-1]
        assert pane == inst.claude_pane and "tmuxclaude resume a" in argv[-1]
        # Paused is not idle: the tick leaves it alone.
        assert await after(w, inst, 600) is InstanceState.PAUSED
    finally:
        await reconcile.shutdown(w.rt)


async def test_a_shell_in_a_worktree_without_instance_is_offered_one_once(tmp_path: Path) -> None:
    w = make_world(tmp_path, Config(multi_instance=MultiInstanceConfig(auto_start_for_worktree=True)))
    try:
        await started(w)
        other = w.root / "repo-feat-z"
        other.mkdir()
        w.tmux.shell_paths["%99"] = str(other)
        await monitor.tick(w.rt)
        offers = [m for m in w.tmux.messages if "has no instance" in m]
        assert len(offers) == 1 and str(other) in offers[0]
        await monitor.tick(w.rt)
        assert len([m for m in w.tmux.messages if "has no instance" in m]) == 1
    finally:
        await reconcile.shutdown(w.rt)

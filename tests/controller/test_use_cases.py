"""The controller's use cases on fakes of its ports (tests/controller/fakes.py): spawn and its rollback, limits,
teardown, kill-all, reconcile, adoption, restore, port squatting. Milliseconds, no tmux, git or sockets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.controller.fakes import World, make_world, pane_env
from tmuxclaude.controller import pausing, reconcile, spawn, teardown
from tmuxclaude.controller.lifecycle import apply_if_allowed
from tmuxclaude.controller.runtime import ClientContext
from tmuxclaude.errors import InstanceError, LimitError, TmuxError
from tmuxclaude.model.config import Config, MultiInstanceConfig
from tmuxclaude.model.instance import InstanceState
from tmuxclaude.model.lifecycle import Event, LifecycleError
from tmuxclaude.model.view import InstanceView

pytestmark = pytest.mark.unit


def client(w: World) -> ClientContext:
    return ClientContext(cwd=str(w.git.repo))


async def new(w: World, branch: str) -> InstanceView:
    return await spawn.new(w.rt, branch, None, client(w), focus=False)


def hook_files(w: World) -> list[str]:
    run = w.rt.ports.paths.runtime_dir
    return sorted(p.name for p in run.iterdir() if not p.name.endswith(".sock")) if run.exists() else []


async def controller_restarted(w: World) -> World:
    """A new controller on the same tmux server and state file (its other ports fresh fakes)."""
    await reconcile.shutdown(w.rt)
    w2 = make_world(w.root, tmux=w.tmux)
    w2.state.data = w.state.data
    return w2


async def test_spawn_serves_writes_lock_and_tags_window(w: World) -> None:
    item = await new(w, "feat-a")
    inst = w.rt.registry.find("feat-a")
    assert inst is not None and inst.state is InstanceState.IDLE
    assert w.locks.files[inst.port]["instanceId"] == inst.id
    assert w.tmux.wins[inst.window_id].options["port"] == str(inst.port)
    assert inst.tmux_server == w.tmux.server_id()
    assert item.port == inst.port and inst.id in w.rt.served
    assert {f"{inst.id}.hooktoken", f"{inst.id}.settings.json"} <= set(hook_files(w))
    assert w.state.data is not None and [i["id"] for i in w.state.data["instances"]] == [inst.id]


async def test_spawn_failure_rolls_everything_back(w: World) -> None:
    w.tmux.fail_create = TmuxError("tmux new-window: no space")
    with pytest.raises(TmuxError):
        await new(w, "feat-a")
    assert len(w.rt.registry) == 0 and w.rt.served == {} and w.locks.files == {}
    assert hook_files(w) == []
    assert all(lst.closed for lst in w.net.listeners)  # the port reservation is released
    assert (w.root / "repo-feat-a").is_dir()  # the worktree the user asked for stays


async def test_limits(tmp_path: Path) -> None:
    w = make_world(tmp_path, Config(multi_instance=MultiInstanceConfig(max_instances=1)))
    try:
        await new(w, "feat-a")
        with pytest.raises(LimitError, match="max_instances"):
            await new(w, "feat-b")
        # An orphaned record holds nothing: it does not count.
        w.tmux.kill_server()
        await reconcile.reconcile(w.rt)
        await new(w, "feat-c")
    finally:
        await reconcile.shutdown(w.rt)


async def test_kill_all_goes_on_past_a_failing_teardown(w: World) -> None:
    for branch in ("a", "b", "c"):
        await new(w, branch)
    b = w.rt.registry.find("b")
    assert b is not None
    w.tmux.fail_kill.add(b.window_id)
    with pytest.raises(ExceptionGroup) as caught:
        await teardown.kill_all(w.rt)
    failed = caught.value.exceptions[0]
    assert isinstance(failed, ExceptionGroup) and "cannot kill" in str(failed.exceptions[0])
    assert len(w.rt.registry) == 0 and w.rt.served == {} and w.locks.files == {}
    assert list(w.tmux.wins) == [b.window_id]  # only the window that refused is left


async def test_reconcile_goes_on_past_a_failing_teardown(w: World) -> None:
    for branch in ("a", "b"):
        await new(w, branch)
    a, b = w.rt.registry.ordered()
    w.locks.fail_remove.add(a.port)
    for inst in (a, b):
        w.tmux.close_window(inst.window_id)  # closed by the user, same server
    with pytest.raises(ExceptionGroup):
        await reconcile.reconcile(w.rt)
    assert len(w.rt.registry) == 0 and w.rt.served == {}


async def test_window_closed_by_user_is_torn_down(w: World) -> None:
    await new(w, "a")
    inst = w.rt.registry.ordered()[0]
    w.tmux.close_window(inst.window_id)
    await reconcile.reconcile(w.rt)
    assert len(w.rt.registry) == 0 and w.locks.files == {} and hook_files(w) == []


async def test_dead_neovim_pane_with_remain_on_exit_is_a_quit(w: World) -> None:
    await new(w, "a")
    inst = w.rt.registry.ordered()[0]
    w.tmux.dead.add(inst.nvim_pane)
    await reconcile.reconcile(w.rt)
    assert len(w.rt.registry) == 0 and w.tmux.wins == {}


@pytest.mark.parametrize("later", [False, True], ids=["new-server-at-once", "new-server-later"])
async def test_server_lost_orphans_and_restore_brings_back(w: World, later: bool) -> None:
    await new(w, "a")
    inst = w.rt.registry.ordered()[0]
    w.rt.registry.put(inst.with_(claude_session_id="sid-a"))
    w.tmux.kill_server()
    if later:
        await reconcile.reconcile(w.rt)
        assert w.rt.registry.ordered()[0].state is InstanceState.ORPHANED
        w.tmux.start_server()
        await reconcile.reconcile(w.rt)  # the new server is told what it can restore
        assert any("can be restored (a)" in m for m in w.tmux.messages)
    w.tmux.start_server()
    restored = await reconcile.restore(w.rt, client(w))
    assert [r.name for r in restored] == ["a"]
    back = w.rt.registry.ordered()[0]
    # Same port (the keeper held it), new tokens: a new Claude is started, and the old ones may have leaked.
    assert (back.port, back.state) == (inst.port, InstanceState.IDLE) and back.token != inst.token
    assert back.hook_token != inst.hook_token
    assert w.locks.files[back.port]["authToken"] == back.token
    assert w.tmux.respawned[-1][1][-1:] == ["--resume=sid-a"]


async def test_restart_with_controller_down_and_tmux_restarted(w: World) -> None:
    await new(w, "a")
    inst = w.rt.registry.ordered()[0]
    await reconcile.shutdown(w.rt)
    w.tmux.kill_server()
    w.tmux.start_server()
    w2 = make_world(w.root)
    w2.state.data, w2.tmux.generation = w.state.data, w.tmux.generation
    try:
        await reconcile.start(w2.rt)
        assert w2.rt.registry.ordered()[0].state is InstanceState.ORPHANED
        assert w2.tmux.messages and "tmuxclaude restore" in w2.tmux.messages[0]
        await reconcile.restore(w2.rt, client(w2))
        assert w2.rt.registry.ordered()[0].port == inst.port
    finally:
        await reconcile.shutdown(w2.rt)


async def test_start_takes_back_live_windows_and_adopts_unknown_ones(w: World) -> None:
    await new(w, "a")
    await new(w, "b")
    a, b = w.rt.registry.ordered()
    await reconcile.shutdown(w.rt)
    w2 = make_world(w.root, tmux=w.tmux)
    # The state lost b (rolled back to an older backup): its tagged window and lock file remain.
    data = dict(w.state.data or {})
    data["instances"] = [d for d in data["instances"] if d["id"] == a.id]
    w2.state.data = data
    w2.locks.files[b.port] = {"instanceId": b.id, "authToken": b.token, "createdAt": b.created_at}
    try:
        await reconcile.start(w2.rt)
        assert sorted(w2.rt.served) == sorted([a.id, b.id])
        adopted = w2.rt.registry.get(b.id)
        assert adopted is not None and adopted.token == b.token and adopted.port == b.port
    finally:
        await reconcile.shutdown(w2.rt)


async def test_a_port_not_kept_while_down_is_never_reused_with_its_old_tokens(w: World) -> None:
    """Issue 17 finding 1's fallback: the port keeper was gone too (the port was free for a while): the instance
    moves to a new port with new tokens and its Claude restarts against them; the hook token is new either way."""
    await new(w, "a")
    await new(w, "b")
    a, b = w.rt.registry.ordered()
    w2 = await controller_restarted(w)
    w2.net.unkept.add(a.port)
    try:
        await reconcile.start(w2.rt)
        moved, kept = w2.rt.registry.get(a.id), w2.rt.registry.get(b.id)
        assert moved is not None and kept is not None
        assert moved.port != a.port and moved.token != a.token and moved.hook_token != a.hook_token
        assert a.port in w2.net.released and w.tmux.respawned[-1][0] == a.claude_pane
        assert (kept.port, kept.token) == (b.port, b.token) and kept.hook_token != b.hook_token
    finally:
        await reconcile.shutdown(w2.rt)


async def test_port_taken_while_down_moves_the_instance(w: World) -> None:
    await new(w, "a")
    inst = w.rt.registry.ordered()[0]
    w2 = await controller_restarted(w)
    w2.net.taken.add(inst.port)
    try:
        await reconcile.start(w2.rt)
        moved = w2.rt.registry.ordered()[0]
        assert moved.port != inst.port and moved.token != inst.token
        assert inst.port not in w2.locks.files and w2.locks.files[moved.port]["instanceId"] == inst.id
        assert w.tmux.respawned[-1][0] == inst.claude_pane
        assert pane_env(w2.rt.ports.paths.runtime_dir, inst.id)["CLAUDE_CODE_SSE_PORT"] == str(moved.port)
    finally:
        await reconcile.shutdown(w2.rt)


async def test_kill_remove_worktree_of_a_deleted_worktree_prunes(w: World) -> None:
    await new(w, "a")
    inst = w.rt.registry.ordered()[0]
    Path(inst.worktree).rmdir()
    info = await teardown.kill(w.rt, "a", client(w), remove_worktree=True)
    assert info.worktree_removed and info.worktree_missing
    assert w.git.pruned == [inst.repo] and len(w.rt.registry) == 0


async def test_worktree_gone_marks_dead_and_pause_of_orphan_is_refused(w: World) -> None:
    await new(w, "a")
    await new(w, "b")
    a, b = w.rt.registry.ordered()
    Path(a.worktree).rmdir()
    w.tmux.close_window(b.window_id)
    w.rt.config = Config(multi_instance=MultiInstanceConfig(cleanup_on_exit=False))
    await reconcile.reconcile(w.rt)
    states = {i.name: i.state for i in w.rt.registry.ordered()}
    assert states == {"a": InstanceState.DEAD, "b": InstanceState.ORPHANED}
    with pytest.raises(LifecycleError, match="restore"):
        await pausing.pause(w.rt, "b", client(w))


async def test_resume_of_a_running_instance_is_refused(w: World) -> None:
    await new(w, "a")
    with pytest.raises(InstanceError, match="only a paused or exited"):
        await pausing.resume(w.rt, "a", client(w))
    await pausing.pause(w.rt, "a", client(w))
    await pausing.resume(w.rt, "a", client(w))
    assert w.rt.registry.ordered()[0].state is InstanceState.IDLE


async def test_gc_drops_instances_whose_panes_all_exited_and_foreign_hook_files(w: World) -> None:
    await new(w, "a")
    inst = w.rt.registry.ordered()[0]
    w.rt.config = Config(multi_instance=MultiInstanceConfig(cleanup_on_exit=False))
    w.tmux.dead.update([inst.nvim_pane, inst.claude_pane])
    (w.rt.ports.paths.runtime_dir / "deadbeef.settings.json").write_text("{}")
    result = await reconcile.gc(w.rt)
    assert result["dropped"] == ["a"] and "deadbeef.settings.json" in result["removed_files"]
    assert hook_files(w) == []


async def test_a_late_report_does_not_move_an_orphan(w: World) -> None:
    """A hook or exit report still in flight when the server went away must not revive the record."""
    await new(w, "a")
    inst = w.rt.registry.ordered()[0]
    server = w.rt.served[inst.id].server
    w.tmux.kill_server()
    await reconcile.reconcile(w.rt)
    apply_if_allowed(w.rt, inst.id, Event.CLAUDE_EXITED)
    assert w.rt.registry.ordered()[0].state is InstanceState.ORPHANED
    assert server.on_http is not None
    assert server.on_http("/tmuxclaude/exit?status=1&elapsed=1", inst.hook_token)[0] == 503

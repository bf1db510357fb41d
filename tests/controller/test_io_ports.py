"""The use cases that reach processes, files, Claude's session files, pane text, ssh links and remote view windows
do it through the I/O ports (controller/ports.py): here on fakes of those ports, asserting what the fakes were
asked to do (a prompt pasted, a window tagged, a message shown) and what the use case returns."""

from __future__ import annotations

import asyncio
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from tests.controller.fakes import FakeServer, World
from tests.helpers.waiting import aretry_until
from tmuxclaude.controller import claude_sessions, claude_worktrees, comments, hosts, prompts, spawn, views
from tmuxclaude.controller.edits import EditTracker
from tmuxclaude.controller.runtime import ClientContext
from tmuxclaude.errors import InstanceError, TmuxClaudeError, TmuxError
from tmuxclaude.model.hosts import HostConfig
from tmuxclaude.model.instance import Instance, InstanceState, split_state
from tmuxclaude.model.review import FileText
from tmuxclaude.model.states import GLYPHS

pytestmark = pytest.mark.unit

SID = "dc5151ef-9db8-47fc-91f0-dd0abffa8800"
OTHER = "c947a14c-08af-4ac3-9dfa-b7b900ceaf56"

INPUT_BOX = "───────────────\n❯\u00a0\n───────────────\n  ? for shortcuts\n"
DIALOG = "Do you want to make this edit to calc.py?\n❯ 1. Yes\n  2. No\n"


def with_state(w: World, inst: Instance, state: InstanceState) -> Instance:
    """The instance's record as its hooks would leave it (the test's stand-in for the lifecycle)."""
    phase, activity = split_state(state)
    new = replace(inst, phase=phase, activity=activity)
    w.rt.registry.put(new)
    return new


async def start(w: World, path: Path) -> Instance:
    await spawn.open_worktree(w.rt, str(path), ClientContext(cwd=str(path)), focus=False)
    inst = w.rt.registry.by_worktree(str(path))
    assert inst is not None
    return inst


# -- prompts: PaneTextPort --------------------------------------------------------------------------------------


async def test_a_prompt_is_pasted_only_once_the_input_box_shows(w: World) -> None:
    inst = with_state(w, await start(w, w.git.repo), InstanceState.IDLE)
    w.pane_text.screens[inst.claude_pane] = DIALOG
    sent: list[bool] = []
    assert prompts.queue(w.rt, inst.id, "review this", on_sent=lambda: sent.append(True)) == f"sent to {inst.name}"

    async def looked_twice() -> bool:
        return w.pane_text.captures >= 2

    await aretry_until(looked_twice, 5, "two looks at the Claude pane")
    assert w.pane_text.pasted == [] and not sent  # a dialog's default answer would take the Enter
    w.pane_text.screens[inst.claude_pane] = INPUT_BOX

    async def pasted() -> bool:
        return bool(w.pane_text.pasted)

    await aretry_until(pasted, 5, "the prompt pasted")
    assert w.pane_text.pasted == [(inst.claude_pane, "review this\n")] and sent == [True]
    assert not w.rt.outbox.pending.get(inst.id)


async def test_a_prompt_that_cannot_be_pasted_keeps_waiting(w: World) -> None:
    inst = with_state(w, await start(w, w.git.repo), InstanceState.BUSY)  # in a turn: queued
    assert prompts.queue(w.rt, inst.id, "first") == f"queued: delivered when {inst.name} is idle"
    with_state(w, inst, InstanceState.IDLE)
    w.pane_text.screens[inst.claude_pane] = INPUT_BOX
    w.pane_text.fail_paste = TmuxError("tmux paste-buffer: no such pane")
    assert await prompts.deliver(w.rt, inst.id) is False
    assert [p.text for p in w.rt.outbox.pending[inst.id]] == ["first"]
    w.pane_text.fail_paste = None
    assert await prompts.deliver(w.rt, inst.id) is True
    assert w.pane_text.pasted == [(inst.claude_pane, "first\n")]


# -- comments: PaneTextPort and FilesPort -------------------------------------------------------------------------


async def test_send_terminal_writes_the_captured_pane_privately_and_mentions_it(w: World) -> None:
    inst = await start(w, w.git.repo)
    w.pane_text.screens["%77"] = "$ make\nerror: missing ;\n\n"
    w.pane_text.screens[inst.claude_pane] = INPUT_BOX
    out = await comments.send_terminal(w.rt, inst, "%77")
    path = Path(out["file"])
    assert path.read_text() == "$ make\nerror: missing ;\n" and out["lines"] == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.parent == w.rt.ports.paths.runtime_dir / "context"
    server = w.rt.server(inst.id)
    assert isinstance(server, FakeServer) and server.mentions[-1] == (str(path), None, None)
    with pytest.raises(TmuxClaudeError, match="own Claude pane"):
        await comments.send_terminal(w.rt, inst, inst.claude_pane)
    with pytest.raises(TmuxError, match="no tmux pane"):
        await comments.send_terminal(w.rt, inst, "%404")
    assert [p["id"] for p in await comments.panes(w.rt, inst)] == ["%77"]


# -- edits: the FileReader ----------------------------------------------------------------------------------------


def test_the_edit_tracker_reads_files_through_the_reader_it_is_given() -> None:
    files = {"/w/a.py": FileText(True, b"old\n")}
    asked: list[str] = []

    def read(path: str, limit: int) -> FileText:
        asked.append(path)
        return files.get(path, FileText(False, None))

    tracker = EditTracker(lambda _iid: None, read)
    tracker.on_hook("i1", "UserPromptSubmit", SID, "", "")
    tracker.on_hook("i1", "PreToolUse", SID, "Edit", "/w/a.py")
    tracker.on_hook("i1", "PreToolUse", SID, "Write", "/w/new.py")
    files["/w/a.py"] = FileText(True, b"new\n")
    files["/w/new.py"] = FileText(True, b"created\n")
    review = {item["path"]: item for item in tracker.review("i1", "turn")}
    assert review["/w/a.py"]["old"] == b"old\n" and review["/w/a.py"]["exists"]
    assert not review["/w/new.py"]["existed"] and "old" not in review["/w/new.py"]
    assert asked == ["/w/a.py", "/w/new.py", "/w/a.py", "/w/new.py"]


# -- views: ProcessPort -------------------------------------------------------------------------------------------


async def test_describe_measures_the_instances_panes_through_the_process_port(w: World) -> None:
    inst = await start(w, w.git.repo)
    w.fake_claude_io()
    assert views.describe(w.rt, inst, stats=True)["stats"] == {"rss_mb": 0.0, "cpu_percent": 0.0, "processes": 2}


# -- claude_worktrees: ClaudeSessionsPort and ProcessPort -------------------------------------------------------------


async def test_a_claude_worktree_session_is_offered_once_in_its_own_pane(w: World) -> None:
    inst = await start(w, w.git.repo)
    procs, sessions = w.fake_claude_io()
    own = f"{w.git.repo}/.claude/worktrees/wt1"
    sessions.session_files = [
        {"kind": "interactive", "sessionId": SID, "cwd": own, "pid": 4242},
        {"kind": "interactive", "sessionId": OTHER, "cwd": f"{w.git.repo}/src", "pid": 4343},  # not a --worktree
        {"kind": "background", "sessionId": OTHER, "cwd": own, "pid": 4444},  # not interactive
    ]
    procs.parents = {4242: 1}  # the FakeTmux's panes all run pid 1
    await claude_worktrees.offer_worktree_sessions(w.rt)
    assert len(w.tmux.messages) == 1
    assert ".claude/worktrees/wt1 has no editor" in w.tmux.messages[0] and SID[:8] in w.tmux.messages[0]
    assert list(w.rt.monitor.offered) == [inst.claude_pane]  # shown in its pane, not on every client
    await claude_worktrees.offer_worktree_sessions(w.rt)
    assert len(w.tmux.messages) == 1  # once per process
    # Another process (no pane of this server): told on every client.
    sessions.session_files.append({"kind": "interactive", "sessionId": OTHER, "cwd": own + "/x", "pid": 4545})
    await claude_worktrees.offer_worktree_sessions(w.rt)
    assert len(w.tmux.messages) == 2 and list(w.rt.monitor.offered) == [inst.claude_pane]
    assert w.rt.monitor.offered_sessions == {4242, 4545}


# -- claude_sessions: ClaudeSessionsPort --------------------------------------------------------------------------


async def test_promotion_reads_and_stops_sessions_through_the_port(w: World) -> None:
    await start(w, w.git.repo)
    _, sessions = w.fake_claude_io()
    sessions.agents = [{"pid": 4383, "id": "dc5151ef", "cwd": str(w.git.repo), "kind": "background",
                        "sessionId": SID, "name": "parser fix"}]  # fmt: skip
    listed = await claude_sessions.list_sessions(w.rt)
    assert [(s["n"], s["kind"], s["session_id"]) for s in listed] == [(1, "background", SID)]
    with pytest.raises(InstanceError, match="no conversation"):
        await claude_sessions.promote(w.rt, "1", ClientContext(cwd=str(w.git.repo)), yes=False, focus=False)
    assert sessions.stopped == []
    sessions.conversations.add(SID)
    item = await claude_sessions.promote(w.rt, "1", ClientContext(cwd=str(w.git.repo)), yes=False, focus=False)
    assert sessions.stopped == ["dc5151ef"] and item["worktree"] == str(w.git.root / "repo-parser-fix")
    assert any(f"--resume={SID}" in argv for _, argv in w.tmux.respawned)


async def test_an_interactive_session_is_ended_through_the_process_port_before_it_moves(w: World) -> None:
    await start(w, w.git.repo)
    procs, sessions = w.fake_claude_io()
    side = w.git.root / "repo-side"  # a worktree of the repository with no instance: promoted in place
    side.mkdir()
    sessions.agents = [{"pid": 4242, "cwd": str(side), "kind": "interactive", "sessionId": SID}]
    sessions.conversations.add(SID)
    procs.stubborn.add(4242)
    client = ClientContext(cwd=str(w.git.repo))
    with pytest.raises(InstanceError, match="did not exit; nothing was started"):
        await claude_sessions.promote(w.rt, SID[:8], client, yes=True, focus=False)
    assert procs.ended == [4242] and len(w.rt.registry) == 1
    procs.stubborn.clear()
    item = await claude_sessions.promote(w.rt, SID[:8], client, yes=True, focus=False)
    assert procs.ended == [4242, 4242] and len(w.rt.registry) == 2
    assert item["worktree"] == str(side) and any(f"--resume={SID}" in argv for _, argv in w.tmux.respawned)


# -- hosts: SshConnector and RemoteWindowsPort --------------------------------------------------------------------


def host_link(w: World, name: str = "box") -> hosts.HostLink:
    """A configured host whose link is up and has reported two instances (its stream is never started here)."""
    if w.rt.hosts is None:
        w.rt.hosts = hosts.Hosts(w.rt)
    link = hosts.HostLink(w.rt, HostConfig(name=name, ssh=f"me@{name}"))
    w.rt.hosts.links[name] = link
    link.status.reachable = True
    link.first.set()
    link.status.instances = [
        {"name": "feat", "branch": "feat", "worktree": "/srv/feat", "repo": "/srv/repo", "port": 1, "state": "idle"},
        {"name": "fix", "branch": "fix", "worktree": "/srv/fix", "repo": "/srv/repo", "port": 2, "state": "busy"},
    ]
    return link


async def test_switch_opens_one_tagged_view_window_per_remote_instance(w: World) -> None:
    link = host_link(w)
    item = w.rt.hosts.items(0)[0]
    first = await hosts.switch(w.rt, link, item, ClientContext(cwd="/"))
    window = first["window_id"]
    assert first["name"] == "box:feat"
    assert w.tmux.wins[window].options == {"remote": "box:feat", "glyph": GLYPHS[InstanceState.IDLE]}
    cmd = w.remote_windows.commands[window]
    assert cmd == ["ssh", "-t", "--", "me@box", "tmuxclaude attach -- feat"]
    again = await hosts.switch(w.rt, link, item, ClientContext(cwd="/"))
    assert again["window_id"] == window and len(w.remote_windows.views()) == 1
    # From a pane of that window, no reference needed: the window says which remote instance it shows.
    pane = w.tmux.wins[window].panes[0]
    found = await hosts.resolve(w.rt, None, ClientContext(cwd="/", pane=pane))
    assert found is not None and found[0] is link and found[1]["remote_name"] == "feat"


async def test_views_follow_their_hosts_states_and_close_when_the_instance_is_gone(w: World) -> None:
    box, other = host_link(w), host_link(w, "other")
    client = ClientContext(cwd="/")
    feat = (await hosts.switch(w.rt, box, w.rt.hosts.items(0)[0], client))["window_id"]
    fix = (await hosts.switch(w.rt, box, w.rt.hosts.items(0)[1], client))["window_id"]
    elsewhere = (await hosts.switch(w.rt, other, w.rt.hosts.items(0)[2], client))["window_id"]
    hosts.tag_views(w.rt, "box", {"feat": "waiting"})
    assert w.tmux.wins[feat].options["glyph"] == GLYPHS[InstanceState.WAITING]
    assert fix not in w.tmux.wins  # box no longer has "fix": its view closed
    assert w.tmux.wins[elsewhere].options == {"remote": "other:feat", "glyph": GLYPHS[InstanceState.IDLE]}


async def test_a_command_on_a_remote_instance_runs_over_its_ssh_link(w: World) -> None:
    link = host_link(w)
    ssh = w.ssh.links["box"]
    ssh.answer.stdout = "killed feat (worktree removed)\n"
    item = w.rt.hosts.items(0)[0]
    out = await hosts.kill(link, item, remove_worktree=True, force=False)
    assert out["worktree_removed"] is True and out["name"] == "box:feat"
    assert ssh.ran == ["tmuxclaude kill --remove-worktree -- feat"]
    ssh.answer.returncode, ssh.answer.stderr = 3, "tmuxclaude: no instance 'feat'\n"
    with pytest.raises(TmuxClaudeError, match="box: no instance 'feat'"):
        await hosts.pause(link, item)
    await asyncio.wait_for(link.stop(), 5)

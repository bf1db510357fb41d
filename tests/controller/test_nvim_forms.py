"""The Neovim forms of the command table (controller/commands.py ``NvimForm``): for each ``:ClaudeCode*`` request
as the shim sends it, the args the table's command gets, who asks, and the text Neovim is answered. The commands
themselves are stood in for (their own tests are elsewhere); the requests go through the channel's codec."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.controller.fakes import World
from tests.controller.nvim_fakes import FakeConnector
from tmuxclaude.controller import commands, spawn
from tmuxclaude.controller.commands import TABLE, Command, Commands
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.errors import TmuxClaudeError
from tmuxclaude.model.instance import Instance
from tmuxclaude.protocol.nvim_channel import decode_request

pytestmark = pytest.mark.unit

IID = "<asking instance>"
ITEM = {"n": 2, "name": "feat-b", "branch": "feat-b", "state": "idle", "port": 10002, "active": False,
        "worktree": "/w/feat-b", "clients": 1}  # fmt: skip

# (what the shim sends, the table command run, its args, what the command answers, what Neovim is answered)
FORMS: list[tuple[dict[str, Any], str, dict[str, Any], Any, Any]] = [
    ({"cmd": "list", "path": "/w/a.py"}, "ls", {}, [], "no instances"),
    ({"cmd": "instances"}, "instances", {}, [ITEM],
     [{"n": 2, "name": "feat-b", "branch": "feat-b", "state": "idle", "port": 10002, "active": False}]),
    ({"cmd": "open", "path": "/w/feat-b/x.py"}, "open", {"path": "/w/feat-b/x.py"}, ITEM, "feat-b"),
    ({"cmd": "switch", "arg": "2"}, "switch", {"ref": "2"}, ITEM, "feat-b"),
    ({"cmd": "switch"}, "switch", {"ref": ""}, ITEM, "feat-b"),
    ({"cmd": "kill", "arg": "feat-b"}, "kill", {"ref": "feat-b"}, ITEM, "feat-b"),
    ({"cmd": "kill"}, "kill", {"ref": IID}, ITEM, "feat-b"),
    ({"cmd": "kill_all"}, "kill_all", {}, ["feat-a", "feat-b"], "killed 2"),
    ({"cmd": "resume"}, "resume", {"ref": IID}, ITEM, "resumed feat-b"),
    ({"cmd": "resume", "arg": "feat-b"}, "resume", {"ref": "feat-b"}, ITEM, "resumed feat-b"),
    ({"cmd": "review"}, "review", {"instance": IID, "scope": "turn"}, [{"path": "/a"}], [{"path": "/a"}]),
    ({"cmd": "review", "arg": "session"}, "review", {"instance": IID, "scope": "session"}, [], []),
    ({"cmd": "comments", "action": "add", "file": "/w/a.py", "line1": 3, "line2": 4, "text": "why?",
      "quoted": ["x"], "side": "file"}, "comments",
     {"instance": IID, "action": "add", "id": None, "file": "/w/a.py", "line1": 3, "line2": 4, "text": "why?",
      "quoted": ["x"], "side": "file"}, {"comments": [], "message": "m"}, {"comments": [], "message": "m"}),
    ({"cmd": "comments", "action": "list"}, "comments",
     {"instance": IID, "action": "list", "id": None, "file": None, "line1": None, "line2": None, "text": None,
      "quoted": None, "side": None}, {"comments": []}, {"comments": []}),
    ({"cmd": "review_send"}, "review_send", {"instance": IID}, {"message": "sent 2 comments"}, "sent 2 comments"),
    ({"cmd": "deny_reason", "arg": "too big", "file": "/w/a.py"}, "deny_reason",
     {"instance": IID, "file": "/w/a.py", "reason": "too big"}, {"message": "told"}, "told"),
    ({"cmd": "panes"}, "panes", {"instance": IID}, [{"pane": "%3"}], [{"pane": "%3"}]),
    ({"cmd": "send_terminal", "arg": "%3"}, "send_terminal", {"instance": IID, "pane": "%3"},
     {"lines": 40, "pane": "%3", "name": "feat-b"}, "sent 40 lines of %3 to feat-b"),
]  # fmt: skip


async def asking(w: World) -> Instance:
    w.rt.ports = replace(w.rt.ports, nvim=FakeConnector())
    await spawn.new(w.rt, "feat-a", None, ClientContext(cwd=str(w.git.repo)), focus=False)
    inst = w.rt.registry.find("feat-a")
    assert inst is not None
    return inst


def stand_in(monkeypatch: pytest.MonkeyPatch, answer: Any) -> list[tuple[str, dict[str, Any], ClientContext]]:
    """Every command of the table recording what it was asked and answering ``answer``."""
    ran: list[tuple[str, dict[str, Any], ClientContext]] = []
    for name, command in list(TABLE.items()):

        async def run(rt: Runtime, args: dict[str, Any], client: ClientContext, name: str = name) -> Any:
            ran.append((name, args, client))
            return answer

        monkeypatch.setitem(TABLE, name, Command(run, nvim=command.nvim))
    return ran


@pytest.mark.parametrize(
    ("wire", "command", "args", "answer", "text"), FORMS, ids=[f"{f[0]['cmd']}-{i}" for i, f in enumerate(FORMS)]
)
async def test_each_nvim_form_builds_the_args_and_the_answer(
    w: World,
    monkeypatch: pytest.MonkeyPatch,
    wire: dict[str, Any],
    command: str,
    args: dict[str, Any],
    answer: Any,
    text: Any,
) -> None:
    inst = await asking(w)
    ran = stand_in(monkeypatch, answer)
    table = Commands(w.rt, reload_config=lambda: None, stop=lambda: None)
    request = decode_request(wire)
    assert await table.from_nvim(inst.id, request.cmd, request.payload()) == text
    expected = {k: inst.id if v == IID else v for k, v in args.items()}
    assert ran == [(command, expected, ClientContext(cwd=inst.worktree, pane=inst.nvim_pane))]


def test_every_nvim_form_is_covered() -> None:
    named = {c.nvim[0] for c in TABLE.values() if c.nvim is not None}
    assert named == {f[0]["cmd"] for f in FORMS}


async def test_open_without_a_file_opens_the_asking_instances_worktree(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = await asking(w)
    ran = stand_in(monkeypatch, ITEM)
    table = Commands(w.rt, reload_config=lambda: None, stop=lambda: None)
    assert await table.from_nvim(inst.id, "open", {"cmd": "open"}) == "feat-b"
    assert ran[0][:2] == ("open", {"path": inst.worktree})


async def test_unknown_and_socket_only_commands_are_refused(w: World) -> None:
    inst = await asking(w)
    table = Commands(w.rt, reload_config=lambda: None, stop=lambda: None)
    for cmd in ("nope", "ls", "new", "gc", "stop", "status"):
        with pytest.raises(TmuxClaudeError, match=f"unknown command '{cmd}'"):
            await table.from_nvim(inst.id, cmd, {"cmd": cmd})
    assert [i.name for i in w.rt.registry] == ["feat-a"]


async def test_real_answers_read_as_neovim_shows_them(w: World) -> None:
    """Through the real commands: the listing line of each instance, and a kill from the instance's own Neovim."""
    inst = await asking(w)
    await spawn.new(w.rt, "feat-b", None, ClientContext(cwd=str(w.git.repo)), focus=False)
    table = Commands(w.rt, reload_config=lambda: None, stop=lambda: None)
    listing = await table.from_nvim(inst.id, "list", {"cmd": "list"})
    assert len(listing.splitlines()) == 2 and "[feat-a]" in listing and "[feat-b]" in listing
    picker = await table.from_nvim(inst.id, "instances", {"cmd": "instances"})
    assert [p["name"] for p in picker] == ["feat-a", "feat-b"] and set(picker[0]) == set(
        commands._picker_items([ITEM])[0]
    )
    assert await table.from_nvim(inst.id, "kill", {"cmd": "kill"}) == "feat-a"
    assert [i.name for i in w.rt.registry] == ["feat-b"]

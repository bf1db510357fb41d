"""The Neovim link's codec (protocol/nvim_channel.py): each event and request the Lua shim sends, as it sends
them; malformed ones refused with one line; the LuaCATS classes mirror the Python ones; every Lua function the
controller calls exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tmuxclaude.adapters.nvim import runtime_dir
from tmuxclaude.errors import ProtocolError
from tmuxclaude.protocol import nvim_channel as channel
from tmuxclaude.protocol.nvim_channel import (
    BufferEvent,
    CommandRequest,
    CommentsRequest,
    DiffEvent,
    MentionEvent,
    Position,
    PreimageEvent,
    SelectionEvent,
    decode_event,
    decode_request,
)

pytestmark = pytest.mark.unit

LUA = runtime_dir() / "lua" / "tmuxclaude"

SELECTION_WIRE = {
    "type": "selection",
    "text": "ab",
    "filePath": "/w/a.py",
    "fileUrl": "file:///w/a.py",
    "selection": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 2}, "isEmpty": False},
    "isEmpty": False,
}

# (what the shim sends, what it decodes to): the wire form of the decoded event is what was sent.
EVENTS: list[tuple[dict[str, Any], Any]] = [
    (SELECTION_WIRE, SelectionEvent("ab", "/w/a.py", "file:///w/a.py", Position(1, 0), Position(1, 2), False)),
    ({"type": "diff", "id": "d1", "tab_name": "t", "outcome": "accepted", "contents": "x\n"},
     DiffEvent("d1", "t", "accepted", "x\n")),
    ({"type": "diff", "id": "d1", "tab_name": "t", "outcome": "rejected"}, DiffEvent("d1", "t", "rejected")),
    ({"type": "preimage", "filePath": "/w/a.py", "text": "é\n"}, PreimageEvent("/w/a.py", "é\n")),
    ({"type": "buffer", "filePath": "/other/b.py"}, BufferEvent("/other/b.py")),
    ({"type": "mention", "filePath": "/w/a.py"}, MentionEvent("/w/a.py")),
    ({"type": "mention", "filePath": "/w/a.py", "lineStart": 1, "lineEnd": 3, "to": "feat-x"},
     MentionEvent("/w/a.py", 1, 3, "feat-x")),
]  # fmt: skip


@pytest.mark.parametrize(("wire", "event"), EVENTS, ids=[f"{w['type']}-{i}" for i, (w, _) in enumerate(EVENTS)])
def test_events_decode_as_the_shim_sends_them(wire: dict[str, Any], event: Any) -> None:
    assert decode_event(wire) == event
    assert event.wire() == wire


def test_lenient_where_the_shim_may_leave_fields_out() -> None:
    # An integral float is an integer (Lua 5.1 numbers); a diff accepted without contents is an empty text.
    sel = decode_event({**SELECTION_WIRE, "selection": {"start": {"line": 2.0, "character": 0},
                                                        "end": {"line": 2, "character": 0}}})  # fmt: skip
    assert sel == SelectionEvent("ab", "/w/a.py", "file:///w/a.py", Position(2, 0), Position(2, 0), False)
    assert decode_event({"type": "diff", "id": "d", "tab_name": "t", "outcome": "accepted"}) == DiffEvent(
        "d", "t", "accepted", "")  # fmt: skip
    assert decode_event({"type": "mention", "filePath": "/a", "to": ""}) == MentionEvent("/a")


MALFORMED_EVENTS: list[tuple[object, str]] = [
    ("selection", "event must be a table"),
    ([1, 2], "event must be a table"),
    ({}, "unknown type None"),
    ({"type": "exec"}, "unknown type 'exec'"),
    ({"type": 3}, "unknown type 3"),
    ({**SELECTION_WIRE, "filePath": None}, "filePath must be a string"),
    ({**SELECTION_WIRE, "text": 5}, "text must be a string"),
    ({**SELECTION_WIRE, "selection": "1:0"}, "selection must be a table"),
    ({**SELECTION_WIRE, "selection": {"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": 0}}},
     "line must not be negative"),
    ({**SELECTION_WIRE, "selection": {"start": {"line": 1.5, "character": 0}, "end": {"line": 2, "character": 0}}},
     "line must be an integer"),
    ({**SELECTION_WIRE, "selection": {"start": {"line": 3, "character": 0}, "end": {"line": 2, "character": 0}}},
     "the end is before the start"),
    ({**SELECTION_WIRE, "isEmpty": "no"}, "isEmpty must be a boolean"),
    ({"type": "diff", "id": "d", "tab_name": "t", "outcome": "maybe"}, "outcome must be"),
    ({"type": "diff", "id": 7, "tab_name": "t", "outcome": "rejected"}, "id must be a string"),
    ({"type": "diff", "id": "d", "tab_name": "t", "outcome": "accepted", "contents": ["x"]}, "contents must be"),
    ({"type": "preimage", "filePath": "/a", "text": b"\xff"}, "text must be a string"),
    ({"type": "buffer"}, "filePath must be a string"),
    ({"type": "mention", "filePath": ""}, "filePath is empty"),
    ({"type": "mention", "filePath": "/a", "lineStart": True}, "lineStart must be an integer"),
    ({"type": "mention", "filePath": "/a", "lineEnd": 3}, "lineEnd 3 without a lineStart"),
    ({"type": "mention", "filePath": "/a", "lineStart": 4, "lineEnd": 3}, "lineEnd 3 without a lineStart"),
    ({"type": "mention", "filePath": "/a", "to": 1}, "to must be a string"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "says"), MALFORMED_EVENTS)
def test_malformed_events_are_refused_with_one_line(raw: object, says: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_event(raw)
    assert says in info.value.message and "\n" not in info.value.message
    assert info.value.code == channel.INVALID_PARAMS


REQUESTS: list[tuple[dict[str, Any], Any]] = [
    ({"cmd": "list", "path": "/w/a.py"}, CommandRequest("list", path="/w/a.py")),
    ({"cmd": "switch", "arg": "2"}, CommandRequest("switch", arg="2")),
    ({"cmd": "kill"}, CommandRequest("kill")),
    ({"cmd": "deny_reason", "arg": "too big", "file": "/w/a.py"}, CommandRequest("deny_reason", "too big",
                                                                                  file="/w/a.py")),
    ({"cmd": "comments", "action": "list"}, CommentsRequest("list")),
    ({"cmd": "comments", "action": "add", "file": "/w/a.py", "side": "file", "line1": 3, "line2": 4,
      "quoted": ["x", "y"], "text": "why?"},
     CommentsRequest("add", file="/w/a.py", line1=3, line2=4, text="why?", quoted=("x", "y"), side="file")),
    ({"cmd": "comments", "action": "edit", "id": "ab12", "text": "t"}, CommentsRequest("edit", id="ab12", text="t")),
    ({"cmd": "comments", "action": "delete", "id": "ab12"}, CommentsRequest("delete", id="ab12")),
]  # fmt: skip


@pytest.mark.parametrize(("wire", "request_"), REQUESTS, ids=[f"{w['cmd']}-{i}" for i, (w, _) in enumerate(REQUESTS)])
def test_requests_decode_as_the_shim_sends_them(wire: dict[str, Any], request_: Any) -> None:
    assert decode_request(wire) == request_
    assert request_.payload() == wire  # what the command table's Neovim forms read


def test_an_empty_lua_table_is_an_empty_quote_list() -> None:
    raw = {"cmd": "comments", "action": "add", "file": "/a", "line1": 1, "text": "t", "quoted": {}}
    assert decode_request(raw) == CommentsRequest("add", file="/a", line1=1, text="t")


MALFORMED_REQUESTS: list[tuple[object, str]] = [
    (None, "request must be a table"),
    ({}, "cmd must be a command name"),
    ({"cmd": ""}, "cmd must be a command name"),
    ({"cmd": ["list"]}, "cmd must be a command name"),
    ({"cmd": "switch", "arg": 2}, "arg must be a string"),
    ({"cmd": "list", "path": {}}, "path must be a string"),
    ({"cmd": "comments", "action": "purge"}, "unknown action 'purge'"),
    ({"cmd": "comments", "action": "add", "line1": "3"}, "line1 must be an integer"),
    ({"cmd": "comments", "action": "add", "quoted": "x"}, "quoted must be a list of strings"),
    ({"cmd": "comments", "action": "add", "quoted": [1]}, "quoted must be a list of strings"),
]


@pytest.mark.parametrize(("raw", "says"), MALFORMED_REQUESTS)
def test_malformed_requests_are_refused_with_one_line(raw: object, says: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_request(raw)
    assert says in info.value.message and "\n" not in info.value.message


# -- the Lua side mirrors the Python side ------------------------------------------------------------------


def lua_classes() -> dict[str, tuple[Path, list[str]]]:
    """Every ``---@class`` of the Lua runtime: the file declaring it and its field names."""
    classes: dict[str, tuple[Path, list[str]]] = {}
    for path in sorted(LUA.glob("*.lua")):
        current: list[str] | None = None
        for line in path.read_text(encoding="utf-8").splitlines():
            if m := re.match(r"---@class\s+([\w.]+)", line):
                current = []
                classes[m.group(1)] = (path, current)
            elif current is not None and (m := re.match(r"---@field\s+([\w]+)\??\s", line)):
                current.append(m.group(1))
            elif not line.startswith("---"):
                current = None
    return classes


SENDERS = {
    "tmuxclaude.SelectionEvent": "selection.lua",
    "tmuxclaude.DiffEvent": "diff.lua",
    "tmuxclaude.PreimageEvent": "reload.lua",
    "tmuxclaude.BufferEvent": "init.lua",
    "tmuxclaude.MentionEvent": "commands.lua",
    "tmuxclaude.CommandRequest": "commands.lua",
    "tmuxclaude.CommentsRequest": "comments.lua",
}


@pytest.mark.parametrize("cls", [*channel.EVENT_TYPES, *channel.REQUEST_TYPES], ids=lambda c: c.__name__)
def test_each_type_is_a_luacats_class_with_the_same_fields_in_the_module_that_sends_it(cls: Any) -> None:
    classes = lua_classes()
    assert cls.LUA_CLASS in classes, f"no ---@class {cls.LUA_CLASS} in {LUA}"
    path, fields = classes[cls.LUA_CLASS]
    assert path.name == SENDERS[cls.LUA_CLASS]
    assert sorted(fields) == sorted(cls.WIRE)
    # ...and that module annotates what it sends with it.
    assert f"---@type {cls.LUA_CLASS}" in path.read_text(encoding="utf-8") or cls.LUA_CLASS.endswith("Request")


def test_the_event_and_request_aliases_name_every_class() -> None:
    init = (LUA / "init.lua").read_text(encoding="utf-8")
    for cls in channel.EVENT_TYPES + channel.REQUEST_TYPES:
        assert f"---| {cls.LUA_CLASS}" in init or f" {cls.LUA_CLASS}|" in init or f"|{cls.LUA_CLASS}" in init
    assert f"'{channel.EVENT_METHOD}'" in init and f"'{channel.REQUEST_METHOD}'" in init


@pytest.mark.parametrize("call", channel.ALL_CALLS, ids=lambda c: f"{c.module}.{c.function}")
def test_every_lua_function_the_controller_calls_exists(call: channel.LuaCall) -> None:
    parts = call.module.split(".")
    path = LUA / ("init.lua" if len(parts) == 1 else f"{parts[1]}.lua")
    assert re.search(rf"^function M\.{call.function}\(", path.read_text(encoding="utf-8"), re.MULTILINE), path
    assert call.source == f"return require('{call.module}').{call.function}(...)"

"""The typed views the commands answer with, and their one wire form: the keys the control socket has always sent
(what the CLI, the tmux plugin, the Lua side and other hosts read), in the same order."""

from __future__ import annotations

import json
from dataclasses import replace

from tmuxclaude.model.view import (
    InstanceView,
    PermissionView,
    RemoteView,
    StatsView,
    View,
    from_wire,
    instance_line,
    ls_line,
)
from tmuxclaude.protocol.control import decode_reply, encode_reply

DESCRIBE_KEYS = [
    "n", "id", "name", "branch", "worktree", "repo", "port", "state", "window_id", "nvim_pane", "claude_pane",
    "nvim_pid", "nvim_socket", "nvim_attached", "clients", "parent_port", "created_at", "claude_session_id", "exit",
    "lock_file", "worktree_missing",
]  # fmt: skip
"""``views.describe``'s keys before it was typed."""

LOCAL = InstanceView(
    n=1, id="abc", name="feat-x", branch="feat-x", worktree="/r/feat-x", repo="/r", port=10001, state="idle",
    window_id="@1", nvim_pane="%1", claude_pane="%2", nvim_pid=42, nvim_socket="/s", nvim_attached=True, clients=1,
    parent_port=None, created_at=1.5, claude_session_id="", exit=None, lock_file="/l/10001.lock",
    worktree_missing=False,
)  # fmt: skip
REMOTE = RemoteView(
    name="box:feat-y", branch="feat-y", worktree="/h/feat-y", repo="/h", port=10002, state="waiting", n=2,
    host="box", remote_name="feat-y", home="/h", unreachable=None,
)  # fmt: skip


def test_instance_view_wire_keys_are_describes_keys_in_order() -> None:
    assert list(LOCAL.to_dict()) == DESCRIBE_KEYS
    full = replace(LOCAL, permission=PermissionView("default", "user", "r"), stats=StatsView(1.0, 2.0, 3), active=False)
    data = full.to_dict()
    assert list(data) == [*DESCRIBE_KEYS, "permission", "stats", "active", "host"]
    assert data["host"] is None and data["stats"] == {"rss_mb": 1.0, "cpu_percent": 2.0, "processes": 3}
    assert list(replace(LOCAL, existing=True).to_dict())[-1] == "existing"
    assert list(replace(LOCAL, worktree_removed=True).to_dict())[-1] == "worktree_removed"


def test_remote_view_wire_keys_as_before() -> None:
    assert list(REMOTE.to_dict()) == [
        "name", "branch", "worktree", "repo", "port", "state", "n", "host", "remote_name", "home", "unreachable",
        "active",
    ]  # fmt: skip
    assert list(replace(REMOTE, window_id="@9").to_dict())[-1] == "window_id"
    assert replace(REMOTE, worktree_removed=False).to_dict()["worktree_removed"] is False
    pending = replace(REMOTE, port=None)
    assert pending.to_dict() == {"name": "box:feat-y", "host": "box", "worktree": "/h/feat-y", "port": "?"}
    assert instance_line(from_wire(pending.to_dict()), "started") == "started box:feat-y: /h/feat-y (port: ?)"


def test_reply_encodes_views_and_the_cli_reads_them_back() -> None:
    listed: list[View] = [replace(LOCAL, active=True, stats=StatsView(1.0, 0.0, 2)), REMOTE]
    line = encode_reply(listed)
    assert json.loads(line)["result"] == [v.to_dict() for v in listed]
    back = [from_wire(item) for item in decode_reply(line)]
    assert back == listed
    assert [ls_line(v) for v in back] == [
        "1. [feat-x] /r/feat-x (port: 10001) *active*",
        "2. [box:feat-y] ~/feat-y (port: 10002)",
    ]


def test_from_wire_tolerates_missing_and_mistyped_keys() -> None:
    view = from_wire({"name": "x", "port": "nope", "stats": "?", "active": None})
    assert isinstance(view, InstanceView)
    assert (view.name, view.port, view.stats, view.active, view.worktree) == ("x", 0, None, None, "")

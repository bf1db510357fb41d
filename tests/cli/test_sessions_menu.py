"""`ls --all` lines and the pick menu's session items: hostile names are shown, never expanded or run."""

from __future__ import annotations

from typing import Any

from tmuxclaude.cli.pick import menu_args
from tmuxclaude.cli.sessions import menu_with_sessions, session_line

SID = "dc5151ef-9db8-47fc-91f0-dd0abffa8800"
INSTANCE = {"id": "a", "window_id": "@1", "claude_pane": "%2", "n": 1, "name": "feat-a", "branch": "feat-a",
            "state": "idle", "port": 1}  # fmt: skip


def session(**extra: Any) -> dict[str, Any]:
    return {"n": 1, "instance_id": "a", "session_id": SID, "kind": "fork", "state": "blocked", "name": "x"} | extra


def test_sessions_go_under_their_instance_and_promote_by_id() -> None:
    args = menu_with_sessions(menu_args, [INSTANCE], [session(name="#(touch /tmp/pwned)")])
    labels, commands = args[0::3], args[2::3]
    assert labels[1] == "  ↳ fork (blocked) ##(touch /tmp/pwned)  [dc5151ef]"
    assert commands[1].endswith(f"open-session {SID}'")


def test_a_session_whose_id_is_no_id_is_left_out() -> None:
    bad = session(session_id="x' ; run-shell 'touch /tmp/pwned", instance_id="")
    assert menu_with_sessions(menu_args, [INSTANCE], [bad]) == menu_args([INSTANCE])


def test_ls_all_line() -> None:
    line = session_line(session(kind="interactive", pid=42, name="fix\x1b[2J"))
    assert line.startswith("   #1 interactive (blocked) fix") and line.endswith(f"[{SID[:8]}] pid 42")
    assert "\x1b" not in line

"""`ls --all` lines, the pick menu's session items (hostile names are shown, never expanded or run), and the
question before an interactive session elsewhere is ended."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from tmuxclaude.cli import client, sessions
from tmuxclaude.cli.app import cli
from tmuxclaude.cli.pick import menu_args
from tmuxclaude.cli.sessions import menu_with_sessions, session_line
from tmuxclaude.errors import InstanceError

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


def _requests(monkeypatch: pytest.MonkeyPatch, can_ask: bool) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def request(cmd: str, args: dict[str, Any] | None = None, **_: Any) -> Any:
        calls.append(args or {})
        if not (args or {}).get("yes"):
            raise InstanceError("x runs interactively (pid 7); `tmuxclaude open --yes x` ends it there")
        return {"name": "x", "worktree": "/w", "port": 1}

    monkeypatch.setattr(client, "request", request)
    monkeypatch.setattr(sessions, "can_ask", lambda: can_ask)
    return calls


@pytest.mark.parametrize(("answer", "promoted"), [("y\n", True), ("n\n", False), ("", False)])
def test_an_interactive_session_is_ended_only_when_the_user_says_so(
    monkeypatch: pytest.MonkeyPatch, answer: str, promoted: bool
) -> None:
    calls = _requests(monkeypatch, can_ask=True)
    result = CliRunner().invoke(cli, ["open", SID[:8]], input=answer)
    assert ("promoted to x" in result.stdout) is promoted, result.output
    assert [c["yes"] for c in calls] == ([False, True] if promoted else [False])


def test_without_a_terminal_there_is_no_question(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _requests(monkeypatch, can_ask=False)
    result = CliRunner().invoke(cli, ["open", SID[:8]], input="y\n")
    assert result.exit_code != 0 and "--yes" in result.output and len(calls) == 1
    result = CliRunner().invoke(cli, ["open", "--yes", SID[:8]])
    assert "promoted to x" in result.stdout and calls[-1]["yes"] is True

"""Every argv the stdlib fast path takes (what tmux keys run) gives the same request to the controller and the
same output as the click command of the same name, so the two parsers cannot drift."""

from __future__ import annotations

import contextlib
import io
from typing import Any, NamedTuple

import pytest
from click.testing import CliRunner

from tmuxclaude import cli as cli_main
from tmuxclaude.cli import client
from tmuxclaude.cli import pick as pick_mod
from tmuxclaude.cli.app import cli
from tmuxclaude.errors import InstanceError

ITEM = {"n": 1, "id": "ab12cd34", "name": "feat-x", "branch": "feat-x", "worktree": "/src/app-feat-x",
        "port": 10002, "state": "idle", "active": True}  # fmt: skip


class Case(NamedTuple):
    test_id: str
    argv: list[str]
    result: Any = None
    error: Exception | None = None


CASES = [
    Case("ls", ["ls"], [ITEM]),
    Case("ls-json", ["ls", "--json"], [ITEM]),
    Case("switch", ["switch", "2"], ITEM),
    Case("switch-error", ["switch", "nope"], error=InstanceError("no instance 'nope' (see `tmuxclaude ls`)")),
    Case("new", ["new", "feat-x"], ITEM),
    Case("new-detached", ["new", "-d", "feat-x"], ITEM),
    Case("new-detached-after", ["new", "feat-x", "--detached"], ITEM),
    Case("new-dashdash", ["new", "--", "feat-x"], ITEM),
    Case("open-here", ["open"], ITEM),
    Case("open-path", ["open", "some/dir"], ITEM),
    Case("open-existing-detached", ["open", "-d", "some/dir"], {**ITEM, "existing": True}),
    Case("next", ["next"], ITEM),
    Case("next-none", ["next"], error=InstanceError("no instance is waiting for input")),
    Case("pick", ["pick"]),
    Case("pick-client", ["pick", "--client", "/dev/pts/3"]),
]


def _fake(monkeypatch: pytest.MonkeyPatch, case: Case) -> list[tuple[str, Any]]:
    calls: list[tuple[str, Any]] = []

    def request(cmd: str, args: dict[str, Any] | None = None, **_: Any) -> Any:
        calls.append((cmd, args or {}))
        if case.error is not None:
            raise case.error
        return case.result

    monkeypatch.setattr(client, "request", request)
    monkeypatch.setattr(pick_mod, "pick", lambda name: calls.append(("pick", {"client": name})))
    return calls


@pytest.mark.parametrize("case", CASES, ids=[c.test_id for c in CASES])
def test_fast_path_and_click_agree(monkeypatch: pytest.MonkeyPatch, case: Case) -> None:
    calls = _fake(monkeypatch, case)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main._fast(list(case.argv))
    assert code is not None, f"{case.argv} is not a fast-path argv"
    fast = (calls[:], code, out.getvalue(), err.getvalue())

    calls.clear()
    result = CliRunner().invoke(cli, case.argv, catch_exceptions=False)
    slow = (calls[:], result.exit_code, result.stdout, result.stderr)
    assert fast == slow


@pytest.mark.parametrize(
    "argv", [["ls", "--stats"], ["new", "--base", "main", "x"], ["kill"], ["switch"], [], ["open", "dc5151ef"]]
)
def test_other_spellings_go_to_click(argv: list[str]) -> None:
    assert cli_main._fast(argv) is None

"""Every argv the stdlib fast path takes (what tmux keys run) gives the same request to the controller and the
same output as the click command of the same name, so the two parsers cannot drift."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from click.testing import CliRunner

from tmuxclaude import cli as cli_main
from tmuxclaude.cli import client
from tmuxclaude.cli import pick as pick_mod
from tmuxclaude.cli.app import cli
from tmuxclaude.errors import ControllerError, InstanceError, LimitError, PortError, TmuxClaudeError, TmuxError

ITEM = {"n": 1, "id": "ab12cd34", "name": "feat-x", "branch": "feat-x", "worktree": "/src/app-feat-x",
        "port": 10002, "state": "idle", "active": True}  # fmt: skip

PENDING = {"name": "box:feat-y", "host": "box", "worktree": "/w", "port": "?"}
"""What ``new --host`` answers before the host's stream shows the new instance."""


class Case(NamedTuple):
    test_id: str
    argv: list[str]
    result: Any = None
    error: Exception | None = None
    files: tuple[str, ...] = ()
    """Files made in the (empty) current directory first: a path operand that exists is a path, not a session."""


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
    Case("open-empty-path", ["open", ""], ITEM),
    Case("open-file-here", ["open", "notes.txt"], ITEM, files=("notes.txt",)),
    Case("open-dashdash-d", ["open", "--", "-d"], ITEM, files=("-d",)),
    Case("open-d-dashdash-d", ["open", "-d", "--", "-d"], ITEM, files=("-d",)),
    Case("open-dashdash-detached", ["open", "--", "--detached"], ITEM, files=("--detached",)),
    Case("new-dashdash-d", ["new", "--", "-d"], ITEM),
    Case("new-d-dashdash-d", ["new", "-d", "--", "-d"], ITEM),
    Case("new-dashdash-detached", ["new", "--", "--detached"], ITEM),
    Case("new-lone-dash", ["new", "-"], ITEM),
    Case("new-remote-not-seen-yet", ["new", "feat-y"], PENDING),
    Case("next", ["next"], ITEM),
    Case("next-none", ["next"], error=InstanceError("no instance is waiting for input")),
    Case("new-limit", ["new", "x"], error=LimitError("at most 2 instances ([multi_instance] max_instances)")),
    Case("new-several-errors", ["new", "x"], error=ExceptionGroup("new", [TmuxError("a\x1b]0;t\x07"), PortError("b")])),
    Case("open-controller-gone", ["open"], error=ControllerError("controller closed the connection (see its log)")),
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
def test_fast_path_and_click_agree(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: Case) -> None:
    monkeypatch.chdir(tmp_path)
    for name in case.files:
        (tmp_path / name).touch()
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
    if case.error is not None:
        # One reporter (cli/report.py): one escaped line, the error's own exit code, 1 for several at once.
        assert err.getvalue().startswith("tmuxclaude: ") and err.getvalue().count("\n") == 1
        assert "\x1b" not in err.getvalue()
        assert code == (case.error.exit_code if isinstance(case.error, TmuxClaudeError) else 1)


@pytest.mark.parametrize(
    "argv",
    [
        ["ls", "--stats"], ["new", "--base", "main", "x"], ["kill"], ["switch"], [], ["open", "dc5151ef"],
        # No file `-d` here: a word that is no path is a Claude session, which click's `open` promotes.
        ["open", "--", "-d"], ["new"], ["new", "a", "b"], ["new", "-x", "a"], ["new", "-h"], ["open", "a/b", "c/d"],
    ],
)  # fmt: skip
def test_other_spellings_go_to_click(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, argv: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli_main._fast(argv) is None

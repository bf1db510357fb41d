"""Shared fixtures. Every test runs isolated from the developer's own setup: no $TMUX (a test runner that
inherits it would join the real server), a private tmux socket, a temp HOME/XDG dirs/CLAUDE_CONFIG_DIR, and no
user tmux.conf or Neovim config."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.env import Env, make_env


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--claude-version",
        action="append",
        metavar="X.Y.Z",
        help="run the e2e tests on this Claude Code version only (repeatable; default: every tested version)",
    )


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Env]:
    # Unix sockets have a ~108 byte path limit: keep runtime dirs short, outside pytest's long tmp paths.
    short = Path(tempfile.mkdtemp(prefix="tc-", dir="/tmp"))
    e = make_env(tmp_path, short)
    for key in ("TMUX", "TMUX_PANE", "TMUXCLAUDE_CONFIG", "CLAUDE_CODE_SSE_PORT"):
        monkeypatch.delenv(key, raising=False)
    for key, value in e.vars.items():
        monkeypatch.setenv(key, value)
    try:
        yield e
    finally:
        e.shutdown()
        shutil.rmtree(short, ignore_errors=True)


@pytest.fixture
def repo(env: Env) -> Path:
    """A git repo with one commit, at <home>/projects/myapp."""
    return env.make_repo("myapp")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def world(env: Env, repo: Path) -> Env:
    """A private tmux server with one plain session, and the recorder standing in for claude."""
    env.start_tmux()
    env.use_recorder()
    return env


@pytest.fixture(autouse=True)
def _no_inherited_tmux() -> None:
    assert "TMUX" not in os.environ or os.environ.get("TMUXCLAUDE_TEST_OUTER") == "1"

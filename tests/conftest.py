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

from tests.helpers import nvim_matrix
from tests.helpers.env import Env, make_env


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--claude-version",
        action="append",
        metavar="X.Y.Z",
        help="run the e2e tests on this Claude Code version only (repeatable; default: every tested version)",
    )
    parser.addoption(
        "--nvim-version",
        action="append",
        metavar="VERSION",
        help="run the Neovim, controller and e2e tests on this listed Neovim only (repeatable; default: every "
        "one in tmuxclaude/neovim-versions); the other tests use the first one picked",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The Neovim, controller and e2e tests run once per tested Neovim (tests/e2e/conftest.py pairs Neovims with
    Claude versions itself). Session scope groups the tests by Neovim."""
    if "nvim_version" not in metafunc.fixturenames or "claude_version" in metafunc.fixturenames:
        return
    if not nvim_matrix.in_matrix(Path(str(metafunc.definition.path))):
        return
    if metafunc.definition.get_closest_marker("unit") is not None:
        return  # fakes of the ports: no Neovim to vary
    versions = nvim_matrix.picked(metafunc.config.getoption("nvim_version"))
    metafunc.parametrize("nvim_version", versions, scope="session", ids=[f"nvim-{v}" for v in versions])


@pytest.fixture(scope="session")
def nvim_version(request: pytest.FixtureRequest) -> str:
    """The Neovim a test outside the matrix runs on: the default listed one, or the first ``--nvim-version``."""
    option = request.config.getoption("nvim_version")
    if option:
        return nvim_matrix.picked(option)[0]
    return nvim_matrix.default_version()


@pytest.fixture
def nvim_bin(nvim_version: str) -> Path:
    """That Neovim's binary (installed on first use, once per session; raises, never skips, if that fails).
    Function scope: a session-scoped one would keep a parametrized test's Neovim for the unparametrized tests
    that run after it."""
    return nvim_matrix.nvim_binary(nvim_version)


@pytest.fixture(autouse=True)
def _tested_nvim_on_path(nvim_version: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test sees the Neovim it runs on as `nvim`, first on PATH, whatever `nvim` the machine has: the
    controller, tmux panes and the CLI all resolve `nvim` through PATH. Unit tests (fakes of the ports) need no
    Neovim and must pass without any tool on PATH."""
    if request.node.get_closest_marker("unit") is not None:
        return
    nvim_bin: Path = request.getfixturevalue("nvim_bin")
    monkeypatch.setenv("PATH", f"{nvim_bin.parent}{os.pathsep}{os.environ.get('PATH', '')}")


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

"""Fixtures for e2e tests that drive the real Claude Code CLI in a private tmux server.

Helpers live in modules next to this file (``tests.e2e.mock_api``, ``tests.e2e.claude_env``, ``tests.e2e.screen``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.claude_env import SpawnClaude, claude_binary, claude_versions, prepare_claude_home
from tests.e2e.mock_api import MockApi
from tests.e2e.screen import Pane, TmuxServer
from tests.helpers import nvim_matrix


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every e2e test runs once per tested CLI version (``--claude-version`` picks some): one pytest run covers
    the whole supported range. Session scope groups the tests by version."""
    if "claude_version" not in metafunc.fixturenames:
        return
    versions = claude_versions()
    picked = metafunc.config.getoption("claude_version") or []
    if picked:
        unknown = sorted(set(picked) - set(versions))
        if unknown:
            raise pytest.UsageError(f"--claude-version {', '.join(unknown)}: not in {versions}")
        versions = [v for v in versions if v in picked]
    if "nvim_version" not in metafunc.fixturenames:
        metafunc.parametrize("claude_version", versions, scope="session", ids=[f"claude-{v}" for v in versions])
        return
    # Not the full cross product: every CLI on the default Neovim, and the current CLI on every other Neovim.
    nvims = nvim_matrix.picked(metafunc.config.getoption("nvim_version"))
    default = nvim_matrix.default_version() if nvim_matrix.default_version() in nvims else nvims[0]
    pairs = [(c, default) for c in versions] + [(versions[-1], n) for n in nvims if n != default]
    if metafunc.definition.get_closest_marker("current_cli_only") is not None:
        # Neovim-side behaviour: the current CLI on every Neovim is enough.
        pairs = [(versions[-1], n) for n in nvims]
    metafunc.parametrize(
        ("claude_version", "nvim_version"),
        pairs,
        scope="session",
        ids=[f"claude-{c}-nvim-{n}" for c, n in pairs],
    )


@pytest.fixture(scope="session")
def claude_bin(claude_version: str) -> Path:
    """That version's ``claude`` binary (installed on first use; raises, never skips, if that fails)."""
    return claude_binary(claude_version)


@pytest.fixture
def nvim_user_config() -> str | None:
    """The user's Neovim init.lua for the instances' Neovims (None: they start with --clean). Tests of users'
    configs override this."""
    return None


@pytest.fixture
def mock_api() -> Iterator[MockApi]:
    with MockApi() as api:
        yield api


@pytest.fixture
def tmux_server(tmp_path: Path) -> Iterator[TmuxServer]:
    server = TmuxServer(tmp_path / "tmux.sock")
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A trusted project folder to run the CLI in."""
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
def spawn_claude(
    claude_bin: Path, claude_version: str, mock_api: MockApi, tmux_server: TmuxServer, tmp_path: Path, workdir: Path
) -> SpawnClaude:
    """Start ``claude *args`` in a new pane of the private tmux server, against ``mock_api``.

    ``cwd`` defaults to ``workdir``; it is always marked trusted. Does not wait for readiness.
    """
    counter = iter(range(1_000_000))

    def spawn(
        *args: str,
        cwd: Path | None = None,
        extra_env: Mapping[str, str] | None = None,
        extra_config: Mapping[str, Any] | None = None,
    ) -> Pane:
        run_dir = cwd or workdir
        env = prepare_claude_home(
            tmp_path / f"home{next(counter)}",
            api_url=mock_api.url,
            version=claude_version,
            trusted_dirs=[run_dir],
            extra_config=extra_config,
            extra_env=extra_env,
        )
        return tmux_server.spawn([str(claude_bin), *args], env=env, cwd=run_dir)

    return spawn

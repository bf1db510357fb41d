"""Create/kill cycles (new worktree, real Neovim attached, a client connected, kill with the worktree): the
controller's fds, threads and RSS and the world's lock files, tmux windows and worktrees return to baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.env import Env
from tests.reliability.scenarios import run_leak_cycles


def _check(result: dict[str, Any], rss_tolerance_mb: float) -> None:
    print(f"\n[leaks] {json.dumps(result)}")
    delta = result["delta"]
    assert result["end"]["lock_files"] == 0
    assert delta["windows"] == 0 and delta["worktrees"] == 0
    assert delta["fds"] <= 0, f"fds grew by {delta['fds']}"
    assert delta["threads"] <= 1, f"threads grew by {delta['threads']}"  # the executor may add one worker
    assert delta["rss_mb"] <= rss_tolerance_mb, f"RSS grew {delta['rss_mb']} MB over {result['cycles']} cycles"


@pytest.mark.timeout(150)
def test_thirty_create_kill_cycles(env: Env, repo: Path) -> None:
    env.start_tmux()
    _check(run_leak_cycles(env, repo, cycles=30), rss_tolerance_mb=3.0)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_hundred_create_kill_cycles(env: Env, repo: Path) -> None:
    env.start_tmux()
    _check(run_leak_cycles(env, repo, cycles=200), rss_tolerance_mb=5.0)

"""N instances at once: memory per instance, idle wakeups of the controller, and a selection storm.

CI runs 10 instances (half with a real Neovim, half with a sleeper standing in for it); ``scripts/bench`` runs
50 and asserts the per-instance RSS target. The ``slow`` test runs 50 here too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.env import Env
from tests.reliability.scenarios import run_load

MONITOR_WAKEUPS_PER_S = 25.0
"""Allowance for work that does not scale with instances: the 2 s reconcile runs three tmux commands (each a
fork/exec whose pipes wake the loop several times), websockets' keepalive timers, the executor thread."""


def _check(figures: dict[str, object], n: int) -> None:
    print(f"\n[load] {json.dumps(figures)}")
    wakeups = float(figures["idle_wakeups_per_s"])  # type: ignore[arg-type]
    # Instances waiting for a Neovim share one tick a second, so nothing here grows by a wakeup per instance:
    # a small per-instance allowance (timers of idle servers) plus the fixed one.
    bound = 0.2 * n + MONITOR_WAKEUPS_PER_S
    assert wakeups <= bound, f"{wakeups} wakeups/s idle with {n} instances (bound {bound})"
    assert int(figures["selection_events"]) >= int(figures["driven_instances"])  # type: ignore[call-overload]


@pytest.mark.timeout(150)
def test_load_ten_instances(env: Env, repo: Path) -> None:
    env.start_tmux()
    figures = run_load(env, repo, n=10, real=5, idle_s=5.0, moves=40)
    _check(figures, 10)


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_load_fifty_instances(env: Env, repo: Path) -> None:
    env.start_tmux()
    figures = run_load(env, repo, n=50, real=10, idle_s=5.0, moves=50)
    _check(figures, 50)
    assert float(figures["rss_mb_per_extra_instance"]) < 1.0

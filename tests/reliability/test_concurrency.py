"""Twenty ``tmuxclaude new`` at once, with no controller running: they race to start it, and then race each
other inside it. One controller, twenty instances, nothing shared by two of them."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers.env import Env, ls_json
from tests.helpers.waiting import retry_until
from tests.reliability.reliability_helpers import SLEEPER_NVIM, daemon_status, state_file, tagged_windows

pytestmark = pytest.mark.timeout(120)

N = 20


def _controllers(env: Env) -> list[int]:
    """Processes running ``tmuxclaude daemon run`` for this environment's tmux socket."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if "daemon" in cmd and "run" in cmd and env.socket in cmd:
            found.append(proc.pid)
    return found


def test_twenty_news_at_once(env: Env, repo: Path) -> None:
    env.start_tmux()
    env.use_recorder("[multi_instance]\nmax_instances = 25\n", nvim=SLEEPER_NVIM)
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            ["tmuxclaude", "new", "-d", f"race-{i:02d}"],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for i in range(N)
    ]
    results = [(p.wait(timeout=100), *p.communicate()) for p in procs]
    elapsed = time.monotonic() - started
    failures = [(code, err) for code, _, err in results if code != 0]
    assert not failures, failures
    print(f"\n[concurrency] {N} racing `new` took {elapsed:.1f}s")

    # Every `new` that found no controller started one; those that lost the controller flock exit on their own
    # (they see the winner answer): within moments, exactly one is left.
    retry_until(lambda: len(_controllers(env)) == 1 or None, 15, "one controller left")
    status = daemon_status(env)
    assert _controllers(env) == [status["pid"]]

    items = ls_json(env)
    assert sorted(i["branch"] for i in items) == [f"race-{i:02d}" for i in range(N)]
    ports = {i["port"] for i in items}
    assert len(ports) == N
    assert len({i["id"] for i in items}) == N and len({i["name"] for i in items}) == N
    assert len({i["window_id"] for i in items}) == N and sorted(tagged_windows(env)) == sorted(
        i["window_id"] for i in items
    )
    locks = {int(p.stem): json.loads(p.read_text()) for p in env.lock_dir.glob("*.lock")}
    assert set(locks) == ports
    assert {d["instanceId"] for d in locks.values()} == {i["id"] for i in items}
    assert len({d["authToken"] for d in locks.values()}) == N
    assert {d["pid"] for d in locks.values()} == {status["pid"]}
    state = json.loads(state_file(env).read_text())
    assert sorted((i["id"], i["port"]) for i in state["instances"]) == sorted((i["id"], i["port"]) for i in items)
    assert set(status["servers"]) == {i["id"] for i in items}

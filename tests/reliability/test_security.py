"""Security review as tests: private file modes, no token in logs or pane environments, random distinct
tokens, and worktrees holding work that lives nowhere else are never removed by kill-all or gc."""

from __future__ import annotations

import asyncio
import json
import math
import os
import stat
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import websockets

from tests.helpers.env import Env, ls_json
from tests.reliability.reliability_helpers import SLEEPER_NVIM, ctl, lock_token, log_file, state_file, ws_connect
from tmuxclaude.adapters.paths import Paths

pytestmark = pytest.mark.timeout(90)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def world(env: Env, repo: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv("TMUXCLAUDE_LOG_LEVEL", "DEBUG")
    env.start_tmux()
    env.use_recorder()
    return env


def test_file_modes_are_private(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "-d", "sec-a", cwd=repo)
    env.cli("new", "-d", "sec-b", cwd=repo)  # a second save makes state.json.bak
    paths = Paths.current()
    assert _mode(env.lock_dir) == 0o700
    locks = list(env.lock_dir.glob("*.lock"))
    assert len(locks) == 2 and all(_mode(p) == 0o600 for p in locks)
    state = state_file(env)
    for path in (state, state.with_name(state.name + ".bak")):
        assert _mode(path) == 0o600, path
    assert _mode(state.parent) == 0o700
    assert _mode(paths.runtime_dir) == 0o700
    assert stat.S_ISSOCK(paths.control_socket.stat().st_mode) and _mode(paths.control_socket) == 0o600
    # Files holding a secret are 0600 themselves; the rest (pid file, log) are only shielded by their 0700 dir.
    secret_suffixes = (".hooktoken", ".settings.json", ".json", ".bak")
    others = {}
    for folder in (paths.runtime_dir, state.parent):
        for entry in folder.iterdir():
            if entry.is_file() and not entry.is_symlink():
                if entry.name.endswith(secret_suffixes):
                    assert _mode(entry) == 0o600, f"{entry} is mode {_mode(entry):04o}"
                else:
                    others[entry.name] = f"{_mode(entry):04o}"
    print(f"\n[security] non-secret files, private through their 0700 dir only: {others}")


async def test_tokens_never_logged_nor_in_pane_env_or_tmux(world: Env, repo: Path) -> None:
    env = world

    for name in ("sec-a", "sec-b"):
        await asyncio.to_thread(env.cli, "new", "-d", name, cwd=repo)
    items = await asyncio.to_thread(ls_json, env)
    tokens = [lock_token(env, i["port"]) for i in items]
    for item, token in zip(items, tokens, strict=True):
        async with await ws_connect(item["port"], token) as ws:
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}))
            await ws.recv()
        for bad in (token[:-1] + "x", token + token, token.upper()):
            with pytest.raises(websockets.InvalidStatus):
                async with await ws_connect(item["port"], bad):
                    pass
        with pytest.raises(websockets.InvalidStatus):
            async with await ws_connect(item["port"], token, headers={"Origin": "http://x.example"}):
                pass
    await asyncio.to_thread(env.cli, "kill-all")
    log = log_file(env).read_text()
    assert "DEBUG" in log  # the level really was DEBUG
    for item, token in zip(items, tokens, strict=True):
        assert token not in log and token[:16] not in log
        record = env.record(item["id"])  # what the Claude pane's process got
        assert token not in json.dumps(record["env"]) and token not in " ".join(record["argv"])
    everything_tmux = env.tmux("show-options", "-g") + env.tmux("show-environment", "-g")
    assert not any(t in everything_tmux for t in tokens)


def test_tokens_random_and_distinct(env: Env, repo: Path) -> None:
    env.start_tmux()
    env.use_recorder("[multi_instance]\nmax_instances = 12\n", nvim=SLEEPER_NVIM)
    env.cli("ls")
    for k in range(10):
        ctl("new", {"branch": f"tok-{k}", "detached": True}, cwd=repo)
    tokens = [lock_token(env, i["port"]) for i in ctl("ls")]
    assert len(set(tokens)) == 10
    assert all(len(t) >= 32 for t in tokens)
    # No shared prefixes or suffixes, and the characters look uniformly random (Shannon entropy per char).
    assert len({t[:6] for t in tokens}) == 10 and len({t[-6:] for t in tokens}) == 10
    counts = Counter("".join(tokens))
    total = sum(counts.values())
    entropy = -sum(c / total * math.log2(c / total) for c in counts.values())
    assert entropy > 5.0, entropy  # urlsafe base64 carries 6 bits/char; hex would be 4


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_unpushed_work_survives_kill_all_and_gc(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "-d", "sec-work", cwd=repo)
    env.cli("new", "-d", "sec-dirty", cwd=repo)
    work, dirty = (Path(i["worktree"]) for i in ls_json(env))
    (work / "feature.txt").write_text("only here\n")
    _git(work, "add", ".")
    _git(work, "commit", "-qm", "unpushed")
    head = _git(work, "rev-parse", "HEAD")
    (dirty / "scratch.txt").write_text("uncommitted\n")
    env.cli("kill-all")
    env.cli("gc")
    assert (work / "feature.txt").read_text() == "only here\n" and _git(work, "rev-parse", "HEAD") == head
    assert (dirty / "scratch.txt").exists()
    listed = _git(repo, "worktree", "list", "--porcelain")
    assert f"worktree {work}" in listed and f"worktree {dirty}" in listed
    assert "sec-work" in _git(repo, "branch", "--list", "sec-work")
    assert ls_json(env) == [] and os.listdir(env.lock_dir) == []

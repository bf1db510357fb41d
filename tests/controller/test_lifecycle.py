"""The instance lifecycle on real tmux, git and Neovim: only an explicit kill (or the user closing the instance's
own window / quitting its Neovim, cleanup_on_exit) ends an instance; everything else leaves a restorable record
that ``restore`` brings back on its old port and token, each Claude resuming its own conversation."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.env import Env, ls_json
from tests.helpers.keeper import kill_keeper
from tests.helpers.waiting import retry_until
from tests.reliability.reliability_helpers import SLEEPER_NVIM, daemon_status
from tests.tmux.test_tmux_ux import run_hook
from tmuxclaude.adapters.nvim import NvimClient
from tmuxclaude.adapters.paths import Paths

pytestmark = pytest.mark.timeout(120)


def two_with_sessions(env: Env, repo: Path) -> dict[str, dict[str, Any]]:
    """Two instances whose Claudes reported their conversation ids; each item also carries its IDE token."""
    env.cli("new", "-d", "feat-a", cwd=repo)
    env.cli("new", "-d", "feat-b", cwd=repo)
    before = {i["name"]: i for i in ls_json(env)}
    for name, item in before.items():
        run_hook(env, item, "SessionStart", {"session_id": f"sid-{name}"})
        item["token"] = json.loads((env.lock_dir / f"{item['port']}.lock").read_text())["authToken"]
        (env.records / f"{item['id']}.json").unlink(missing_ok=True)
    return before


def restart_tmux(env: Env) -> None:
    """Kill the tmux server and start a new one on the same socket as soon as the old one has exited."""
    env.tmux("kill-server")

    def started() -> bool:
        # "server exited unexpectedly" while the old one is still going away: try again.
        new = ["-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", "200", "-y", "50"]
        run = subprocess.run(["tmux", "-S", env.socket, *new], capture_output=True, check=False, timeout=20)
        return run.returncode == 0

    retry_until(started, 10, "a new tmux server")


def assert_restored(env: Env, before: dict[str, dict[str, Any]]) -> None:
    out = env.cli("restore")
    assert out.stdout.count("restored") == len(before), out.stdout
    after = {i["name"]: i for i in ls_json(env)}
    assert set(after) == set(before)
    for name, item in after.items():
        assert item["port"] == before[name]["port"] and item["state"] == "idle"
        lock = json.loads((env.lock_dir / f"{item['port']}.lock").read_text())
        # A new Claude is started: it gets new tokens (the old ones may have leaked while nothing served them).
        assert lock["authToken"] != before[name]["token"] and lock["instanceId"] == item["id"]
        assert env.record(item["id"])["argv"][-1:] == [f"--resume=sid-{name}"]
    windows = env.tmux("list-windows", "-a", "-F", "#{@tmuxclaude_id}").split()
    assert sorted(i["id"] for i in after.values()) == sorted(w for w in windows if w)


def test_restore_after_tmux_server_killed_and_a_new_one_started_at_once(world: Env, repo: Path) -> None:
    env = world
    before = two_with_sessions(env, repo)
    pid = daemon_status(env)["pid"]
    restart_tmux(env)  # before the controller's next look: "tmux is up, the window is missing"
    assert_restored(env, before)
    assert daemon_status(env)["pid"] == pid


def test_restore_after_tmux_server_killed_and_a_new_one_started_later(world: Env, repo: Path) -> None:
    env = world
    before = two_with_sessions(env, repo)
    env.tmux("kill-server")
    retry_until(lambda: all(i["state"] == "orphaned" for i in ls_json(env)), 15, "instances kept as orphaned")
    assert list(env.lock_dir.glob("*.lock")) == []
    assert "(orphaned)" in env.cli("ls").stdout
    env.start_tmux()
    assert_restored(env, before)


def test_restore_after_controller_stopped_then_tmux_restarted(world: Env, repo: Path) -> None:
    env = world
    before = two_with_sessions(env, repo)
    env.cli("daemon", "stop")
    restart_tmux(env)
    assert all(i["state"] == "orphaned" for i in ls_json(env))
    assert_restored(env, before)


def test_restore_after_controller_and_tmux_both_killed(world: Env, repo: Path) -> None:
    """A reboot: nothing runs; the CLI starts the controller, and restore starts the tmux server itself."""
    env = world
    before = two_with_sessions(env, repo)
    os.kill(daemon_status(env)["pid"], signal.SIGKILL)
    env.tmux("kill-server")
    assert_restored(env, before)


def test_window_closed_while_the_controller_was_down_is_dropped_with_its_files(world: Env, repo: Path) -> None:
    """Same tmux server, window gone: the user closed it (cleanup_on_exit). Its hook files go too."""
    env = world
    env.cli("new", "-d", "feat-a", cwd=repo)
    item = ls_json(env)[0]
    runtime = Paths.current().runtime_dir
    assert (runtime / f"{item['id']}.settings.json").exists()
    env.cli("daemon", "stop")
    env.tmux("kill-window", "-t", item["window_id"])
    assert ls_json(env) == []
    assert list(runtime.glob(f"{item['id']}.*")) == []


async def _quit_nvim(address: str) -> None:
    client = await NvimClient.connect(address)
    client.notify("nvim_command", "qa!")
    await client.wait_closed()


def test_quitting_neovim_with_remain_on_exit_kills_the_instance(world: Env, repo: Path) -> None:
    env = world
    env.tmux("set-option", "-g", "remain-on-exit", "on")
    env.cli("new", "-d", "feat-a", cwd=repo)
    item = retry_until(lambda: [i for i in ls_json(env) if i["nvim_attached"]], 20, "nvim attached")[0]
    asyncio.run(_quit_nvim(item["nvim_socket"]))
    retry_until(lambda: ls_json(env) == [], 15, "instance torn down")
    assert item["window_id"] not in env.tmux("list-windows", "-a", "-F", "#{window_id}").split()
    assert not (env.lock_dir / f"{item['port']}.lock").exists()


def test_gc_drops_instances_whose_panes_all_exited(world: Env, repo: Path) -> None:
    env = world
    env.use_recorder("[multi_instance]\ncleanup_on_exit = false\n", nvim=SLEEPER_NVIM)
    env.tmux("set-option", "-g", "remain-on-exit", "on")
    env.cli("new", "-d", "feat-a", cwd=repo)
    env.cli("new", "-d", "feat-b", cwd=repo)
    dead, alive = ls_json(env)
    for pane in (dead["nvim_pane"], dead["claude_pane"]):
        os.kill(int(env.tmux("display-message", "-p", "-t", pane, "#{pane_pid}")), signal.SIGKILL)
    retry_until(lambda: env.tmux("display-message", "-p", "-t", dead["claude_pane"], "#{pane_dead}") == "1", 10,
                "panes dead")  # fmt: skip
    out = env.cli("gc").stdout
    assert "dropped feat-a" in out
    assert [i["name"] for i in ls_json(env)] == [alive["name"]]
    assert dead["window_id"] not in env.tmux("list-windows", "-a", "-F", "#{window_id}").split()


@pytest.mark.parametrize("force", [False, True])
def test_kill_remove_worktree_of_a_worktree_deleted_from_disk(world: Env, repo: Path, force: bool) -> None:
    env = world
    env.cli("new", "-d", "feat-a", cwd=repo)
    item = ls_json(env)[0]
    shutil.rmtree(item["worktree"])
    assert "(worktree deleted)" in env.cli("ls").stdout
    assert ls_json(env)[0]["worktree_missing"] is True
    args = ["kill", "feat-a", "--remove-worktree", *(["--force"] if force else [])]
    out = env.cli(*args, check=False)
    assert out.returncode == 0, out.stderr
    assert ls_json(env) == []
    listed = subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True, text=True, check=True).stdout
    assert item["worktree"] not in listed
    assert item["window_id"] not in env.tmux("list-windows", "-a", "-F", "#{window_id}").split()


def test_daemon_stop_then_ls_at_once(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "-d", "feat-a", cwd=repo)
    old = daemon_status(env)["pid"]
    env.cli("daemon", "stop")
    out = env.cli("ls", timeout=10, check=False)  # the CLI's own give-up is 15 s
    assert out.returncode == 0, out.stderr
    assert "feat-a" in out.stdout
    assert daemon_status(env)["pid"] != old
    log = Paths.current().log_file.read_text()
    assert "CancelledError" not in log and "Traceback" not in log


def test_port_taken_while_the_controller_was_down_moves_the_instance(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "-d", "feat-a", cwd=repo)
    item = ls_json(env)[0]
    run_hook(env, item, "SessionStart", {"session_id": "sid-a"})
    first = env.record(item["id"])
    (env.records / f"{item['id']}.json").unlink()
    env.cli("daemon", "stop")
    kill_keeper()  # the fallback: the port keeper is gone too, so the port is free for anyone
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", item["port"]))
        squatter.listen()
        moved = ls_json(env)[0]
        assert moved["id"] == item["id"] and moved["port"] != item["port"] and moved["state"] == "idle"
        # No lock file names the squatted port; the instance's lock names its new one.
        assert not (env.lock_dir / f"{item['port']}.lock").exists()
        lock = json.loads((env.lock_dir / f"{moved['port']}.lock").read_text())
        assert lock["instanceId"] == item["id"]
        # Its Claude was restarted against the new port and token, resuming its conversation.
        rec = env.record(item["id"])
        assert rec["pid"] != first["pid"]
        assert rec["env"]["CLAUDE_CODE_SSE_PORT"] == str(moved["port"])
        assert rec["argv"][-1:] == ["--resume=sid-a"]
        assert env.tmux("display-message", "-p", "-t", moved["window_id"], "#{@tmuxclaude_port}") == str(moved["port"])


@pytest.mark.parametrize("attempt", range(3))
def test_first_demo_starts_the_tmux_server_itself(env: Env, tmp_path: Path, attempt: int) -> None:
    """No tmux server and no controller (a fresh machine): the demo's first window starts the server."""
    env.use_recorder()
    assert not Path(env.socket).exists()
    out = env.cli("demo", "--dir", str(tmp_path / "d"), "--no-attach", check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("started ") == 2
    items = ls_json(env)
    assert sorted(i["branch"] for i in items) == ["feature-a", "feature-b"]
    panes = env.tmux("list-panes", "-a", "-F", "#{window_id} #{pane_id} #{@tmuxclaude_id}").splitlines()
    for item in items:
        assert f"{item['window_id']} {item['nvim_pane']} {item['id']}" in panes
        assert f"{item['window_id']} {item['claude_pane']} {item['id']}" in panes

"""Faults injected into a running system: each piece killed or broken at a bad moment, and what must hold after.

Real tmux (private socket), real git, real headless Neovim where a diff is involved, the recorder for Claude.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.helpers.env import Env, ls_json
from tests.helpers.waiting import aretry_until, retry_until
from tests.reliability.reliability_helpers import (
    SLEEPER_NVIM,
    answers,
    cli_with,
    ctl,
    daemon_status,
    lock_token,
    rpc,
    state_file,
    tagged_windows,
    wait_attached,
    ws_connect,
)
from tmuxclaude.adapters.nvim import NvimClient
from tmuxclaude.adapters.paths import Paths
from tmuxclaude.adapters.procs import pid_alive

pytestmark = pytest.mark.timeout(90)


async def _open_diff(ws: ClientConnection, target: Path, tab: str, request_id: int = 77) -> None:
    await ws.send(
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": request_id,
                "method": "tools/call",
                "params": {
                    "name": "openDiff",
                    "arguments": {
                        "old_file_path": str(target),
                        "new_file_path": str(target),
                        "new_file_contents": "proposed\n",
                        "tab_name": tab,
                    },
                },
            }
        )
    )


async def _wait_tabs(nvim: NvimClient, n: int) -> None:
    async def enough() -> bool:
        return int(await nvim.request("nvim_eval", "tabpagenr('$')")) >= n

    await aretry_until(enough, 15, f"{n} tab pages")


async def _diff_shown(item: dict[str, Any], ws: ClientConnection, target: Path, tab: str) -> None:
    assert "result" in await rpc(ws, 1, "initialize", {"protocolVersion": "2025-06-18"})
    await _open_diff(ws, target, tab)
    nvim = await NvimClient.connect(item["nvim_socket"])
    try:
        await _wait_tabs(nvim, 2)
    finally:
        await nvim.close()


def _stale_locks(env: Env) -> list[str]:
    return [p.name for p in env.lock_dir.glob("*.lock") if not pid_alive(json.loads(p.read_text()).get("pid"))]


async def test_controller_sigkill_mid_open_diff(world: Env, repo: Path) -> None:
    env = world
    await asyncio.to_thread(env.cli, "new", "-d", "feat-k", cwd=repo)
    (item,) = await asyncio.to_thread(wait_attached, env, 1)
    port, token = item["port"], lock_token(env, item["port"])
    target = Path(item["worktree"]) / "README.md"
    before = target.read_bytes()
    old_pid = (await asyncio.to_thread(daemon_status, env))["pid"]
    ws = await ws_connect(port, token)
    await _diff_shown(item, ws, target, "tab-kill")

    os.kill(old_pid, signal.SIGKILL)
    with pytest.raises(websockets.ConnectionClosed):
        async with asyncio.timeout(10):
            while True:
                await ws.recv()
    await asyncio.to_thread(retry_until, lambda: not pid_alive(old_pid), 10, "controller gone")

    # The next command starts a new controller, which takes the instance back on the same port and token.
    items = await asyncio.to_thread(ls_json, env)
    status = await asyncio.to_thread(daemon_status, env)
    assert status["pid"] != old_pid
    assert [(i["id"], i["port"]) for i in items] == [(item["id"], port)]
    assert status["servers"][item["id"]]["port"] == port
    assert lock_token(env, port) == token
    assert json.loads((env.lock_dir / f"{port}.lock").read_text())["pid"] == status["pid"]
    assert await answers(port, token)
    assert target.read_bytes() == before  # the editor never writes the file
    await asyncio.to_thread(env.cli, "gc")
    assert _stale_locks(env) == []
    assert sorted(p.name for p in env.lock_dir.glob("*.lock")) == [f"{port}.lock"]


async def test_neovim_killed_mid_diff_rejects_and_instance_keeps_serving(world: Env, repo: Path) -> None:
    env = world
    # With cleanup_on_exit (the default) closing Neovim tears the instance down by design; here it must stay.
    env.use_recorder("[multi_instance]\ncleanup_on_exit = false\n")
    await asyncio.to_thread(env.cli, "new", "-d", "feat-n", cwd=repo)
    (item,) = await asyncio.to_thread(wait_attached, env, 1)
    port, token = item["port"], lock_token(env, item["port"])
    target = Path(item["worktree"]) / "README.md"
    async with await ws_connect(port, token) as ws:
        await _diff_shown(item, ws, target, "tab-nvim")
        os.kill(int(item["nvim_pid"]), signal.SIGKILL)
        async with asyncio.timeout(10):
            while True:
                reply = json.loads(await ws.recv())
                if reply.get("id") == 77:
                    break
        texts = [c["text"] for c in reply["result"]["content"]]
        assert texts == ["DIFF_REJECTED", "tab-nvim"]
        assert (await rpc(ws, 2, "ping"))["result"] == {}
        assert (await rpc(ws, 3, "tools/list"))["result"]["tools"]
        diags = await rpc(ws, 4, "tools/call", {"name": "getDiagnostics", "arguments": {}})
        assert "result" in diags
    items = await asyncio.to_thread(ls_json, env)
    assert [i["id"] for i in items] == [item["id"]] and not items[0]["nvim_attached"]
    assert await answers(port, token)


async def test_claude_killed_instance_still_listed_and_served(world: Env, repo: Path) -> None:
    env = world
    await asyncio.to_thread(env.cli, "new", "-d", "feat-c", cwd=repo)
    (item,) = await asyncio.to_thread(ls_json, env)
    record = await asyncio.to_thread(env.record, item["id"])
    claude = psutil.Process(record["pid"])
    claude.kill()
    await asyncio.to_thread(retry_until, lambda: not pid_alive(record["pid"]), 10, "claude stand-in dead")

    def exited() -> list[dict[str, Any]] | None:
        found = ls_json(env)  # ls reconciles with tmux first
        return found if found and found[0]["state"] == "exited" else None

    # The pane stays (its launcher says why and offers a restart); the instance is "exited", still served.
    items = await asyncio.to_thread(retry_until, exited, 10, "instance exited")
    assert [i["id"] for i in items] == [item["id"]]
    assert items[0]["claude_pane"] == item["claude_pane"] and items[0]["exit"]["status"] == 128 + 9
    assert (env.lock_dir / f"{item['port']}.lock").exists()
    assert await answers(item["port"], lock_token(env, item["port"]))


def test_ports_taken_by_another_process_are_skipped(world: Env, repo: Path) -> None:
    env = world
    base = env.port_base
    squatter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import socket, sys\n"
            f"a = socket.socket(); a.bind(('127.0.0.1', {base})); a.listen()\n"
            f"b = socket.socket(); b.bind(('0.0.0.0', {base + 1})); b.listen()\n"
            f"c = socket.socket(); c.bind(('127.0.0.1', {base + 2}))\n"
            "print('ready', flush=True); sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert squatter.stdout is not None and squatter.stdout.readline().strip() == "ready"
        env.cli("new", "-d", "feat-p", cwd=repo)
        env.cli("new", "-d", "feat-q", cwd=repo)
        assert [i["port"] for i in ls_json(env)] == [base + 3, base + 4]
    finally:
        squatter.kill()
        squatter.wait()


def test_unwritable_lock_dir_fails_cleanly(world: Env, repo: Path) -> None:
    env = world
    env.lock_dir.mkdir(parents=True, mode=0o700)
    env.lock_dir.chmod(0o500)
    # root ignores permission bits; take CAP_DAC_OVERRIDE away from the CLI and the controller it starts.
    prefix = (
        ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps", "-dac_override,-dac_read_search"]
        if os.geteuid() == 0
        else []
    )
    runtime = Paths.current().runtime_dir
    try:
        for args in (["new", "-d", "feat-l"], ["open", "-d", str(repo)]):
            out = cli_with(prefix, *args, cwd=repo)
            assert out.returncode == 9, (out.returncode, out.stderr)
            lines = out.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("tmuxclaude: ") and "lock" in lines[0], out.stderr
            assert "Traceback" not in out.stderr + out.stdout
        assert tagged_windows(env) == []
        assert ctl("ls") == []
        assert json.loads(state_file(env).read_text()).get("instances", []) == [] if state_file(env).exists() else True
        assert list(env.lock_dir.iterdir()) == []
        assert runtime.is_dir()
    finally:
        env.lock_dir.chmod(0o700)


def test_failed_start_leaves_no_per_instance_files(world: Env, repo: Path) -> None:
    env = world
    env.lock_dir.mkdir(parents=True, mode=0o700)
    env.lock_dir.chmod(0o500)
    prefix = ["setpriv", "--bounding-set", "-dac_override", "--inh-caps", "-dac_override"] if os.geteuid() == 0 else []
    runtime = Paths.current().runtime_dir
    try:
        out = cli_with(prefix, "open", "-d", str(repo), cwd=repo)
        assert out.returncode == 9, out.stderr
        controller_files = {"ctl.sock", "controller.lock", "controller.pid", "portkeeper.sock"}
        assert sorted(p.name for p in runtime.iterdir() if p.name not in controller_files) == []
    finally:
        env.lock_dir.chmod(0o700)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_corrupt_state_file_recovered_from_backup(world: Env, repo: Path, damage: str) -> None:
    env = world
    env.use_recorder(nvim=SLEEPER_NVIM)
    env.cli("new", "-d", "feat-s1", cwd=repo)
    env.cli("new", "-d", "feat-s2", cwd=repo)
    env.cli("daemon", "stop")
    state = state_file(env)
    backup = state.with_name(state.name + ".bak")
    good = state.read_bytes()
    in_backup = [i["id"] for i in json.loads(backup.read_text())["instances"]]
    assert in_backup, "the backup holds the previous good state"
    before = {i["id"]: i for i in json.loads(good)["instances"]}
    bad = {"truncated": good[: len(good) // 2], "garbage": b"\x00\xff{{{not json", "empty": b""}[damage]
    state.write_bytes(bad)

    items = ls_json(env)  # starts the controller, which loads the state

    # The backup's instances come back with their tokens; the window the backup did not know yet is adopted
    # from its tmux options (same id, same port; its token too when its lock file survived: a clean stop
    # removes lock files, so here it gets a new one).
    assert {i["id"] for i in items} == set(before)
    for item in items:
        assert item["port"] == before[item["id"]]["port"]
        if item["id"] in in_backup:
            assert lock_token(env, item["port"]) == before[item["id"]]["token"]
    expected = list(before)
    aside = list(state.parent.glob("state.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == bad
    assert daemon_status(env)["instances"] == len(expected)


def test_tmux_server_killed(world: Env, repo: Path) -> None:
    env = world
    env.use_recorder(nvim=SLEEPER_NVIM)
    env.cli("new", "-d", "feat-t1", cwd=repo)
    env.cli("new", "-d", "feat-t2", cwd=repo)
    pid = daemon_status(env)["pid"]
    ports = [i["port"] for i in ls_json(env)]
    env.tmux("kill-server")

    items = ls_json(env)
    assert all(i["state"] == "orphaned" for i in items), items  # nothing listed as live; kept for restore
    env.cli("gc")
    assert list(env.lock_dir.glob("*.lock")) == []
    # The ports stay held for `restore` (the port keeper), served by no one: nobody else can take them.
    for port in ports:
        with socket.socket() as squatter, pytest.raises(OSError, match="in use"):
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
    status = daemon_status(env)
    assert status["pid"] == pid and pid_alive(pid)  # the controller survived


# -- the controller's log under pressure: rotation keeps every file private, floods and forged lines are tamed ----


@pytest.fixture
def controller_logging(env: Env) -> Iterator[Path]:
    """The controller's own logging set-up (``daemon._setup_logging``), in this process, undone afterwards."""
    import logging

    from tmuxclaude.controller.compose import setup_logging as _setup_logging

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    old_umask = os.umask(0o022)  # what a user's shell usually has: new files 0644 unless we say otherwise
    paths = Paths.current()
    _setup_logging(paths)
    try:
        yield paths.log_file
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        os.umask(old_umask)


def test_rotated_controller_logs_stay_private(controller_logging: Path) -> None:
    import logging
    import stat

    log_path = controller_logging
    # An older version's backup, left 0644 by the umask: tightened when rotation moves it along.
    log_path.with_name(log_path.name + ".1").write_text("old\n")
    os.chmod(log_path.with_name(log_path.name + ".1"), 0o644)
    log = logging.getLogger("tmuxclaude.test")
    filler = "x" * 1000
    for n in range(5000):  # ~5 MB: two rotations at 2 MB
        log.warning(f"line {n} {filler}")
    files = sorted(log_path.parent.glob(log_path.name + "*"))
    assert [f.name for f in files] == [log_path.name, log_path.name + ".1", log_path.name + ".2"]
    modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
    assert set(modes.values()) == {0o600}, modes


def test_log_floods_are_summarised_and_forged_lines_escaped(controller_logging: Path) -> None:
    import logging

    log = logging.getLogger("asyncio")
    for _ in range(1000):
        log.error("socket.accept() out of system resource")
    logging.getLogger("tmuxclaude.test").warning("opened %s", "/repo/x\n2026-12-01 00:00:00 INFO forged line\x1b[31m")
    text = controller_logging.read_text()
    assert text.count("out of system resource") <= 10
    lines = text.splitlines()
    assert not any(line.startswith("2026-12-01 00:00:00 INFO forged") for line in lines)
    assert "/repo/x\\x0a2026-12-01 00:00:00 INFO forged line\\x1b[31m" in text

"""Load and leak scenarios, shared by ``test_load.py`` / ``test_leaks.py`` (small sizes) and ``scripts/bench``
(full sizes). Each runs in an ``Env`` the caller set up (tmux server started, repo made) and returns figures."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection

from tests.helpers.env import Env
from tests.helpers.waiting import retry_until
from tests.reliability.reliability_helpers import (
    ctl,
    lock_token,
    proc_figures,
    rpc,
    tagged_windows,
    worktrees,
    write_nvim_wrapper,
    ws_connect,
)
from tmuxclaude.adapters.nvim import NvimClient


def configure_load(env: Env, n: int, real: int) -> None:
    env.use_recorder(
        f"[multi_instance]\nmax_instances = {n + 5}\n[ide]\ndebounce_ms = 0\nsettle_ms = 0\n",
        nvim=write_nvim_wrapper(env, real),
    )


def start_instances(env: Env, repo: Path, names: list[str]) -> list[dict[str, Any]]:
    return [ctl("new", {"branch": name, "detached": True}, cwd=repo, timeout=120) for name in names]


async def _client(item: dict[str, Any], env: Env) -> ClientConnection:
    ws = await ws_connect(item["port"], lock_token(env, item["port"]))
    await rpc(ws, 1, "initialize", {"protocolVersion": "2025-06-18"})
    await rpc(ws, 2, "tools/list")
    return ws


class Inbox:
    """Everything a client received, read in the background."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.selections: list[dict[str, Any]] = []
        self.changed = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            msg = json.loads(raw)
            if msg.get("method") == "selection_changed":
                self.selections.append(msg["params"])
                self.changed.set()

    async def wait(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                for params in self.selections[::-1]:  # newest first
                    if predicate(params):
                        return params
                self.changed.clear()
                await self.changed.wait()

    async def close(self) -> None:
        self.task.cancel()
        await self.ws.close()


def _selection_in(file: str, line: int | None = None) -> Callable[[dict[str, Any]], bool]:
    """A predicate over selection_changed params: in ``file`` (and starting on ``line``, if given)."""

    def match(params: dict[str, Any]) -> bool:
        return bool(params["filePath"] == file and (line is None or params["selection"]["start"]["line"] == line))

    return match


async def selection_storm(env: Env, items: list[dict[str, Any]], moves: int) -> dict[str, Any]:
    """Connect a client to every instance; in every instance whose Neovim is attached, move the cursor
    ``moves`` times as fast as Neovim takes input. Each client must see its own Neovim's final position and
    nothing from any other instance."""
    pid = int(ctl("status")["pid"])
    inboxes = [Inbox(await _client(i, env)) for i in items]
    driven = [(i, box) for i, box in zip(items, inboxes, strict=True) if i["nvim_attached"]]
    nvims = [await NvimClient.connect(i["nvim_socket"]) for i, _ in driven]
    files: list[str] = []
    for (item, _), nvim in zip(driven, nvims, strict=True):
        path = Path(item["worktree"]) / "storm.txt"
        path.write_text("".join(f"line {n}\n" for n in range(moves + 2)))
        files.append(str(path))
        await nvim.request("nvim_command", f"edit {path}")
    for (_, box), file in zip(driven, files, strict=True):
        await box.wait(_selection_in(file))
    before = proc_figures(pid)
    started = time.monotonic()
    for step in range(moves):
        await asyncio.gather(*(nvim.request("nvim_input", "j") for nvim in nvims))
        del step
    for (_, box), file in zip(driven, files, strict=True):
        await box.wait(_selection_in(file, line=moves))
    elapsed = time.monotonic() - started
    after = proc_figures(pid)
    events = sum(len(box.selections) for _, box in driven)
    for item, box in zip(items, inboxes, strict=True):
        foreign = [p["filePath"] for p in box.selections if not p["filePath"].startswith(item["worktree"] + "/")]
        assert not foreign, f"{item['name']} received another instance's selection: {foreign[:3]}"
    for nvim in nvims:
        await nvim.close()
    for box in inboxes:
        await box.close()
    return {
        "driven_instances": len(driven),
        "moves_each": moves,
        "selection_events": events,
        "storm_s": round(elapsed, 2),
        "events_per_s": round(events / elapsed, 1) if elapsed else 0.0,
        "controller_cpu_pct": round(100 * (after["cpu_s"] - before["cpu_s"]) / elapsed, 1) if elapsed else 0.0,
    }


async def _clients_for(env: Env, items: list[dict[str, Any]]) -> list[ClientConnection]:
    return [await _client(i, env) for i in items]


def run_load(env: Env, repo: Path, n: int, real: int, idle_s: float = 5.0, moves: int = 50) -> dict[str, Any]:
    """N instances (``real`` of them with a real Neovim, the rest with a sleeper): RSS per extra instance,
    idle wakeups, and a selection storm. Every instance has one connected client while measured."""
    configure_load(env, n, real)
    env.cli("ls")
    pid = int(ctl("status")["pid"])
    loop = asyncio.new_event_loop()
    try:
        first = start_instances(env, repo, ["load-00"])
        retry_until(lambda: ctl("ls")[0]["nvim_attached"], 20, "first Neovim attached")
        clients = loop.run_until_complete(_clients_for(env, first))
        rss_1 = proc_figures(pid)["rss_mb"]
        started = time.monotonic()
        rest = start_instances(env, repo, [f"load-{k:02d}" for k in range(1, n)])
        spawn_s = time.monotonic() - started
        clients += loop.run_until_complete(_clients_for(env, rest))

        def attached() -> list[dict[str, Any]] | None:
            items = ctl("ls")
            return items if sum(i["nvim_attached"] for i in items) >= min(real, n) else None

        items = retry_until(attached, 60, f"{real} Neovims attached")
        rss_n = proc_figures(pid)["rss_mb"]
        # Idle: no input anywhere. Every wakeup of the controller costs at least one context switch.
        before = proc_figures(pid)
        time.sleep(idle_s)  # a measurement window, not a wait for a condition
        after = proc_figures(pid)
        for ws in clients:
            loop.run_until_complete(ws.close())
        storm = loop.run_until_complete(selection_storm(env, items, moves))
        unattached = sum(not i["nvim_attached"] for i in items)
        return {
            "instances": n,
            "real_nvim": min(real, n),
            "sleeper_nvim": unattached,
            "spawn_s_per_instance": round(spawn_s / max(n - 1, 1), 3),
            "rss_mb_1": round(rss_1, 1),
            "rss_mb_n": round(rss_n, 1),
            "rss_mb_per_extra_instance": round((rss_n - rss_1) / max(n - 1, 1), 3),
            "idle_s": idle_s,
            "idle_ctx_switches": int(after["ctx"] - before["ctx"]),
            "idle_wakeups_per_s": round((after["ctx"] - before["ctx"]) / idle_s, 1),
            "idle_cpu_pct": round(100 * (after["cpu_s"] - before["cpu_s"]) / idle_s, 2),
            "controller_fds": int(after["fds"]),
            "controller_threads": int(after["threads"]),
            **storm,
        }
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _settled_fds_threads(pid: int, window_s: float = 2.5) -> tuple[int, int]:
    """The fewest fds and threads seen over one reconcile period: a tmux command or a control connection in
    flight holds a few fds for a moment, a leak holds them for ever."""
    fds, threads = 1 << 30, 1 << 30
    end = time.monotonic() + window_s
    while time.monotonic() < end:
        fig = proc_figures(pid)
        fds, threads = min(fds, int(fig["fds"])), min(threads, int(fig["threads"]))
        time.sleep(0.05)  # sampling interval of a measurement window
    return fds, threads


def _snapshot(env: Env, repo: Path, pid: int) -> dict[str, Any]:
    fds, threads = _settled_fds_threads(pid)
    fig = proc_figures(pid)
    return {
        "fds": fds,
        "threads": threads,
        "rss_mb": round(fig["rss_mb"], 2),
        "lock_files": len(list(env.lock_dir.glob("*.lock"))) if env.lock_dir.exists() else 0,
        "windows": len(tagged_windows(env)),
        "worktrees": len(worktrees(repo)),
    }


def run_leak_cycles(env: Env, repo: Path, cycles: int, warmup: int = 3) -> dict[str, Any]:
    """Create an instance (new worktree, real Neovim attached, a client connected) and kill it with its
    worktree, ``cycles`` times; compare the controller and the world with the baseline after ``warmup``."""
    env.use_recorder()
    env.cli("ls")
    pid = int(ctl("status")["pid"])
    loop = asyncio.new_event_loop()

    def cycle(k: int) -> None:
        item = ctl("new", {"branch": f"leak-{k:03d}", "detached": True}, cwd=repo, timeout=60)
        retry_until(lambda: ctl("ls")[0]["nvim_attached"], 20, "Neovim attached")

        async def touch() -> None:
            async with await ws_connect(item["port"], lock_token(env, item["port"])) as ws:
                await rpc(ws, 1, "initialize", {"protocolVersion": "2025-06-18"})
                await rpc(ws, 2, "tools/call", {"name": "getOpenEditors", "arguments": {}})

        loop.run_until_complete(touch())
        ctl("kill", {"ref": item["name"], "remove_worktree": True}, timeout=60)

    try:
        for k in range(warmup):
            cycle(k)
        base = _snapshot(env, repo, pid)
        started = time.monotonic()
        for k in range(warmup, warmup + cycles):
            cycle(k)
        elapsed = time.monotonic() - started
        end = _snapshot(env, repo, pid)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    delta = {k: round(end[k] - base[k], 2) for k in base}
    return {"cycles": cycles, "s_per_cycle": round(elapsed / cycles, 3), "baseline": base, "end": end, "delta": delta}

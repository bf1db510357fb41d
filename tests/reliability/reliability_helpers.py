"""Shared by the reliability tests and ``scripts/bench``: the control socket spoken directly (no CLI start-up
cost), controller process figures, raw WebSocket JSON-RPC, and the substitute commands."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.helpers.env import Env
from tests.helpers.waiting import retry_until
from tmuxclaude.adapters.paths import Paths
from tmuxclaude.cli.client import exchange
from tmuxclaude.errors import ControllerError, TmuxClaudeError
from tmuxclaude.protocol.control import Request

AUTH = "x-claude-code-ide-authorization"

# A Neovim stand-in that ignores the ``--listen <socket>`` tmuxclaude appends and never exits.
SLEEPER_NVIM = json.dumps(["sh", "-c", "exec sleep infinity", "nvim"])


def ctl(cmd: str, args: dict[str, Any] | None = None, *, cwd: Path | str | None = None, timeout: float = 60) -> Any:
    """One request on the control socket of the current environment's controller (it must be running)."""
    paths = Paths.current()
    request = Request(cmd, args or {}, {"cwd": str(cwd or os.environ["HOME"]), "pane": ""})
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(paths.control_socket))
        try:
            return exchange(sock, request)
        except ControllerError as exc:
            raise AssertionError(f"{cmd}: {exc}") from None
        except TmuxClaudeError as exc:
            raise CtlError(cmd, {"kind": exc.kind, "message": str(exc)}) from None


class CtlError(AssertionError):
    def __init__(self, cmd: str, error: dict[str, Any]) -> None:
        super().__init__(f"{cmd}: {error.get('kind')}: {error.get('message')}")
        self.kind = str(error.get("kind"))
        self.message = str(error.get("message"))


def daemon_status(env: Env) -> dict[str, Any]:
    """``tmuxclaude daemon status --json``, through the real CLI."""
    return json.loads(env.cli("daemon", "status", "--json").stdout)  # type: ignore[no-any-return]


def controller_pid(env: Env) -> int:
    return int(daemon_status(env)["pid"])


def lock_token(env: Env, port: int) -> str:
    return str(json.loads((env.lock_dir / f"{port}.lock").read_text())["authToken"])


def state_file(env: Env) -> Path:
    return Paths.current().state_file


def log_file(env: Env) -> Path:
    return Paths.current().log_file


def tagged_windows(env: Env) -> list[str]:
    """Window ids that carry an ``@tmuxclaude_id`` (instance windows)."""
    out = env.tmux("list-windows", "-a", "-F", "#{window_id}|#{@tmuxclaude_id}|", check=False)
    return [parts[0] for parts in (line.split("|") for line in out.splitlines()) if len(parts) == 3 and parts[1]]


def worktrees(repo: Path) -> list[str]:
    out = subprocess.run(
        ["git", "worktree", "list", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")]


def proc_figures(pid: int) -> dict[str, float]:
    """fds, threads, RSS (MB), context switches and CPU seconds of one process."""
    proc = psutil.Process(pid)
    with proc.oneshot():
        ctx = proc.num_ctx_switches()
        cpu = proc.cpu_times()
        return {
            "fds": proc.num_fds(),
            "threads": proc.num_threads(),
            "rss_mb": proc.memory_info().rss / 1024 / 1024,
            "ctx": ctx.voluntary + ctx.involuntary,
            "cpu_s": cpu.user + cpu.system,
        }


def wait_attached(env: Env, n: int, timeout: float = 30) -> list[dict[str, Any]]:
    def ok() -> list[dict[str, Any]] | None:
        items = ctl("ls")
        return items if len(items) >= n and all(i["nvim_attached"] for i in items[:n]) else None

    return retry_until(ok, timeout, f"{n} Neovim(s) attached")


def write_nvim_wrapper(env: Env, real: int) -> str:
    """An ``nvim`` command whose first ``real`` invocations run a real headless Neovim, the rest a sleeper.

    (mkdir is atomic, so concurrent starts never hand out more than ``real`` real ones.)"""
    script = env.short / "nvimwrap.sh"
    slots = env.short / "nvim-slots"
    slots.mkdir(exist_ok=True)
    script.write_text(
        "#!/bin/sh\n"
        f"for i in $(seq 1 {real}); do\n"
        f'  if mkdir "{slots}/$i" 2>/dev/null; then exec nvim --clean --headless "$@"; fi\n'
        "done\n"
        "exec sleep infinity\n"
    )
    script.chmod(0o755)
    return json.dumps(["sh", str(script)])


async def ws_connect(port: int, token: str | None, **kwargs: Any) -> ClientConnection:
    headers = {AUTH: token} if token is not None else {}
    headers.update(kwargs.pop("headers", {}))
    return await connect(
        f"ws://127.0.0.1:{port}",
        subprotocols=[Subprotocol("mcp")],
        additional_headers=headers,
        open_timeout=10,
        max_size=None,
        **kwargs,
    )


async def rpc(ws: ClientConnection, request_id: int | str, method: str, params: dict[str, Any] | None = None) -> Any:
    """Send one request and return its response, skipping notifications pushed meanwhile."""
    await ws.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}}))
    while True:
        msg = json.loads(await ws.recv())
        if msg.get("id") == request_id:
            return msg


async def answers(port: int, token: str) -> bool:
    """A fresh client gets answers to initialize, ping and tools/list."""
    async with await ws_connect(port, token) as ws:
        init = await rpc(ws, 1, "initialize", {"protocolVersion": "2025-06-18"})
        ping = await rpc(ws, 2, "ping")
        tools = await rpc(ws, 3, "tools/list")
        return "result" in init and ping.get("result") == {} and len(tools["result"]["tools"]) > 3


def cli_with(prefix: Sequence[str], *args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the console script under a wrapper command (for example ``setpriv`` dropping capabilities)."""
    return subprocess.run(
        [*prefix, "tmuxclaude", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )

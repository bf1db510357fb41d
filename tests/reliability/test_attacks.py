"""Issue 17's attacks, performed against the product: another local user (``tcattacker``, a real second uid)
squatting an instance's port while the controller is down, serving a "Neovim" the check misreads, churning
connections against the pre-auth gate; a hook's session value that would become an option on Claude's argv.
Each of these passed (the attack worked) on 6eae274."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import os
import signal
import socket
import struct
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.helpers.env import Env, ls_json
from tests.helpers.keeper import keeper_pid, running_keeper_pid
from tests.helpers.waiting import retry_until
from tests.reliability.attacker import Attacker
from tests.reliability.reliability_helpers import SLEEPER_NVIM, answers, controller_pid, lock_token
from tmuxclaude.adapters.paths import Paths
from tmuxclaude.adapters.procs import pid_alive

pytestmark = pytest.mark.timeout(90)


def _try_bind(port: int, *, family: int = socket.AF_INET, host: str = "127.0.0.1") -> None:
    """As the attacker: bind the port (as a squatter would, SO_REUSEADDR and all) or fail the step."""
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen(4)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                os._exit(0)  # refused: the step "succeeds" as a test, the attack failed
            raise
        os._exit(3)  # the squatter holds the port


def _squat_fails(attacker: Attacker, port: int) -> None:
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        attacker.run(lambda family=family, host=host: _try_bind(port, family=family, host=host))  # type: ignore[misc]


def _hook_status(port: int, token: str, query: str = "event=Stop") -> int:
    """One hook request as hook.sh sends it; the HTTP status."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            f"GET /tmuxclaude/hook?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Tmuxclaude-Hook: {token}\r\n\r\n".encode()
        )
        return int(sock.recv(200).split()[1])


@pytest.fixture
def held(env: Env, repo: Path) -> Env:
    env.start_tmux()
    env.use_recorder(nvim=SLEEPER_NVIM)
    return env


def test_port_is_never_free_while_the_controller_is_down(held: Env, repo: Path, attacker: Attacker) -> None:
    """Finding 1: across `daemon stop`, SIGKILL of the controller and a restart, no other uid can bind the
    instance's port (IPv4, wildcard or dual-stack); the restarted controller serves the same port; the hook token
    is new (the old one is refused); a port no longer held is left for good once the instance is killed."""
    env = held
    env.cli("new", "-d", "keep-a", cwd=repo)
    (item,) = ls_json(env)
    port, paths = item["port"], Paths.current()
    old_hook = paths.hook_token_file(item["id"]).read_text().strip()
    assert _hook_status(port, old_hook) == 204
    keeper = running_keeper_pid()
    assert keeper != controller_pid(env)

    env.cli("daemon", "stop")
    _squat_fails(attacker, port)
    # A Claude reconnecting now waits in the backlog for the next controller: it reaches no one else.
    waiting = socket.create_connection(("127.0.0.1", port), timeout=5)

    env.cli("ls")  # a new controller takes the sockets back
    assert ls_json(env)[0]["port"] == port
    pid = controller_pid(env)
    os.kill(pid, signal.SIGKILL)
    retry_until(lambda: not pid_alive(pid), 10, "the controller to die")
    _squat_fails(attacker, port)

    (after,) = ls_json(env)  # restarted after the crash
    assert after["port"] == port and after["id"] == item["id"]
    assert keeper_pid() == keeper
    new_hook = paths.hook_token_file(item["id"]).read_text().strip()
    assert new_hook != old_hook
    assert _hook_status(port, old_hook) == 403, "a stale hook token still works after the re-serve"
    assert _hook_status(port, new_hook) == 204
    assert asyncio.run(answers(port, lock_token(env, port)))
    waiting.close()

    env.cli("kill", "keep-a")
    retry_until(lambda: not pid_alive(keeper), 10, "the port keeper to exit once it holds nothing")
    with socket.socket() as sock:  # the port is free again (ours to take; the instance is gone)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))


def test_a_hook_session_value_never_becomes_an_option(held: Env, repo: Path) -> None:
    """Finding 1's second half: a `session` value `--settings=<file>` (or anything not an id) is refused where it
    enters, and what Claude is resumed with is `--resume=<id>`."""
    env = held
    env.cli("new", "-d", "sid-a", cwd=repo)
    (item,) = ls_json(env)
    token = Paths.current().hook_token_file(item["id"]).read_text().strip()
    for bad in ("--settings=/tmp/evil.json", "-x", "a b", "a/../b", "x" * 200):
        assert _hook_status(item["port"], token, f"event=SessionStart&session={quote(bad, safe='')}") == 400, bad
    assert ls_json(env)[0]["claude_session_id"] == ""
    good = "0b6f1f3e-6f0c-4a6e-9a1e-3f2b6c1d2e3f"
    assert _hook_status(item["port"], token, f"event=SessionStart&session={good}") == 204
    env.cli("pause", "sid-a")
    env.cli("resume", "sid-a")
    retry_until(lambda: env.record(item["id"])["argv"][-1] == f"--resume={good}", 15, "Claude resumed by id")


def _serve_once(attacker: Attacker | None, family: int, host: str, *, close_first: bool) -> tuple[int, int]:
    """A listener (as ``attacker``, or as us) that accepts one connection and holds it (or closes it at once).
    Returns (port, pid)."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(ready_r)
            if attacker is not None:
                attacker._become()
            server = socket.socket(family, socket.SOCK_STREAM)
            server.bind((host, 0))
            server.listen(4)
            os.write(ready_w, str(server.getsockname()[1]).encode())
            conn, _ = server.accept()
            if close_first:
                # Gone at once (RST): its end of the connection is in no table any more, ours is not connected.
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
            time.sleep(60)
        finally:
            os._exit(0)
    os.close(ready_w)
    port = int(os.read(ready_r, 16))
    os.close(ready_r)
    return port, pid


def _was_reset(sock: socket.socket) -> bool:
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


@pytest.mark.parametrize(("family", "host", "close_first"), [
    (socket.AF_INET6, "::", False),  # dual-stack: only in /proc/net/tcp6, read as "no uid" before
    (socket.AF_INET, "127.0.0.1", True),  # closed by its server first: not found (or uid 0) was accepted before
])  # fmt: skip
def test_tcp_peer_check_fails_closed(attacker: Attacker, family: int, host: str, close_first: bool) -> None:
    """Finding 2: a `--nvim-server 127.0.0.1:PORT` Neovim served by another user through a dual-stack listener,
    or one that closes first: the Neovim client refuses it before sending a byte."""
    from tmuxclaude.adapters.nvim import NvimClient
    from tmuxclaude.adapters.peercred import require_own_peer
    from tmuxclaude.errors import InsecurePathError, NvimError

    port, pid = _serve_once(attacker, family, host, close_first=close_first)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            if close_first:
                retry_until(functools.partial(_was_reset, sock), 5, "the server to reset the connection")
            with pytest.raises(InsecurePathError, match="not by you"):
                require_own_peer(sock, f"Neovim at 127.0.0.1:{port}")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    if not close_first:
        port, pid = _serve_once(attacker, family, host, close_first=False)
        try:
            with pytest.raises((NvimError, InsecurePathError)):
                asyncio.run(NvimClient.connect(f"127.0.0.1:{port}", timeout=3))
        finally:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    # Our own dual-stack listener still passes.
    port, pid = _serve_once(None, socket.AF_INET6, "::", close_first=False)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            require_own_peer(sock, "our own listener")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _churn(port: int, seconds: float, hold: int, ready: int) -> None:
    """As the attacker: open connections that send the start of a request and then nothing, holding the last
    ``hold`` of them, for ``seconds`` (bounded)."""
    held: list[socket.socket] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock = socket.socket()
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.connect(("127.0.0.1", port))
        with contextlib.suppress(OSError):
            sock.send(b"GET / HTTP/1.1\r\n")
        held.append(sock)
        if len(held) == hold // 2:
            os.write(ready, b"1")
        if len(held) > hold:
            held.pop(0).close()
        time.sleep(0.001)


def test_another_users_churn_evicts_no_handshake(held: Env, repo: Path, attacker: Attacker) -> None:
    """Finding 7: connections from another uid are refused at accept and cannot evict our handshakes: 20 real
    handshakes during the churn all succeed (7 of 20 failed on 6eae274)."""
    env = held
    env.cli("new", "-d", "churn-a", cwd=repo)
    (item,) = ls_json(env)
    port, token = item["port"], lock_token(env, port=item["port"])
    ready_r, ready_w = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the attacker
        try:
            attacker._become()
            _churn(port, 8.0, 300, ready_w)
        finally:
            os._exit(0)
    os.close(ready_w)
    try:
        assert os.read(ready_r, 1) == b"1", "the churn did not start"  # the attack leads

        async def handshakes() -> list[bool]:
            results = []
            for _ in range(20):
                try:
                    results.append(await asyncio.wait_for(answers(port, token), 5))
                except Exception:
                    results.append(False)
                await asyncio.sleep(0.1)
            return results

        results = asyncio.run(handshakes())
    finally:
        os.close(ready_r)
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    print(f"\n[security] handshakes during another user's churn: {sum(results)} of {len(results)} succeeded")
    assert all(results), f"{results.count(False)} of 20 handshakes failed"


def test_review_store_is_bounded_in_entries_and_bytes() -> None:
    """Finding 8: 20,000 distinct 8 KiB paths through the hook's entry point (what a Claude, or anyone with the
    hook token, can send): every entry counts, kept text or not. On 6eae274 this held 164 MB."""
    import tracemalloc

    from tmuxclaude.adapters.filetext import read_file_text
    from tmuxclaude.controller.edits import EditTracker
    from tmuxclaude.model.review import MAX_FILES, MAX_INSTANCE_BYTES

    tracker = EditTracker(lambda _iid: None, read_file_text)
    tracker.on_hook("i1", "UserPromptSubmit", "s1", "", "")
    tracemalloc.start()
    try:
        for k in range(20_000):
            path = f"/nonexistent/{k:05d}/" + "p" * 8100
            tracker.on_hook("i1", "PreToolUse", "s1", "Write", path)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    store = tracker.store("i1")
    assert len(store.changes("session")) <= MAX_FILES and store.used_bytes <= MAX_INSTANCE_BYTES
    assert store.untracked == 20_000 - len(store.changes("session"))
    print(f"\n[security] 20,000 hook writes: {len(store.changes('session'))} entries kept, peak {peak / 1e6:.1f} MB")
    assert peak < 2 * MAX_INSTANCE_BYTES, peak

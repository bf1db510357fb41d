"""The CLI's side of the control socket. Stdlib only: keybindings run this on every press, so it stays light."""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

from tmuxclaude.adapters.paths import Paths, check_private_dir, check_private_socket
from tmuxclaude.adapters.peercred import require_own_peer
from tmuxclaude.errors import ControllerError, InsecurePathError
from tmuxclaude.protocol.control import Request, decode_reply, encode_request

__all__ = ["client_context", "controller_running", "exchange", "request", "start_controller", "stop_controller"]

START_TIMEOUT = 15.0


def client_context() -> dict[str, str]:
    # TMUX_PANE names a pane of the server in $TMUX; outside tmux it is meaningless (and may be stale).
    pane = os.environ.get("TMUX_PANE", "") if os.environ.get("TMUX") else ""
    return {"cwd": os.getcwd(), "pane": pane}


def _connect(paths: Paths, timeout: float) -> socket.socket:
    # Another local user who made the runtime dir (or a parent) could serve a fake controller: every directory
    # and the socket must be ours, and so must the process behind it. A missing dir or socket: not running.
    if not check_private_dir(paths.runtime_dir, paths.runtime_root):
        raise FileNotFoundError(str(paths.runtime_dir))
    check_private_socket(paths.control_socket)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        deadline = time.monotonic() + min(timeout, 2.0)
        while True:
            try:
                sock.connect(str(paths.control_socket))
                break
            except BlockingIOError:
                # EAGAIN: the listen backlog is full (a flood of connections); the controller drains it fast.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        require_own_peer(sock, f"control socket {paths.control_socket}")
    except BaseException:
        sock.close()
        raise
    return sock


def controller_running(paths: Paths) -> bool:
    """Whether our controller answers (a socket in a dir that is not ours alone is nobody we talk to)."""
    try:
        _connect(paths, 2.0).close()
        return True
    except (OSError, InsecurePathError):
        return False


def start_controller(paths: Paths) -> None:
    """Start the controller detached from this terminal and wait until its socket answers."""
    import subprocess  # here, not at the top: the hot commands never start a process (a few ms of imports)

    from tmuxclaude.adapters.configfile import load_config

    load_config()  # a broken config is reported here, naming the key, not as "controller failed to start"
    paths.ensure_state_dir()
    paths.ensure_runtime_dir()
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    errfile = paths.state_dir / "controller.stderr"
    with open(os.open(errfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600), "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tmuxclaude", "daemon", "run", "--tmux-socket", paths.tmux_socket],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
            env=env,
            cwd="/",
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if controller_running(paths):
            return
        code = proc.poll()
        if code not in (None, 0):
            detail = errfile.read_text(errors="replace").strip().splitlines()
            raise ControllerError(f"controller failed to start: {detail[-1] if detail else f'exit {code}'}")
        time.sleep(0.02)
    raise ControllerError(f"controller did not answer within {START_TIMEOUT:.0f}s (log: {paths.log_file})")


def exchange(sock: socket.socket, request: Request) -> Any:
    """Send one request on a connected control socket and return its result (or raise its error)."""
    sock.sendall(encode_request(request))
    buf = bytearray()
    while not buf.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            raise ControllerError("controller closed the connection (see its log)")
        buf += chunk
    return decode_reply(bytes(buf))


def request(cmd: str, args: dict[str, Any] | None = None, *, autostart: bool = True, timeout: float = 120.0) -> Any:
    paths = Paths.current()
    req = Request(cmd, args or {}, client_context())
    try:
        sock = _connect(paths, timeout)
    except OSError:
        if not autostart:
            raise ControllerError("controller is not running") from None
        start_controller(paths)
        sock = _connect(paths, timeout)
    with sock:
        return exchange(sock, req)


def stop_controller(paths: Paths) -> bool:
    import fcntl

    try:
        sock = _connect(paths, 10.0)
    except OSError:
        return False
    with sock:
        exchange(sock, Request("stop"))
    # Gone means exited (its flock released), not just its socket unlinked: a command right after must not
    # find a controller that is still shutting down.
    deadline = time.monotonic() + 10
    fd = os.open(paths.runtime_dir / "controller.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while time.monotonic() < deadline:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
                break
            except BlockingIOError:
                time.sleep(0.02)
    finally:
        os.close(fd)
    return True

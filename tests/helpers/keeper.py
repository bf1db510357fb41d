"""The port keeper from a test's side: its pid (read from the kernel: SO_PEERCRED of a connection to it)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct

from tests.helpers.waiting import retry_until
from tmuxclaude.adapters.paths import Paths
from tmuxclaude.adapters.portkeeper import keeper_socket
from tmuxclaude.adapters.procs import pid_alive

__all__ = ["keeper_pid", "kill_keeper", "running_keeper_pid"]


def keeper_pid(paths: Paths | None = None) -> int | None:
    path = keeper_socket((paths or Paths.current()).runtime_dir)
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return None
        pid, _uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        return int(pid)


def running_keeper_pid(paths: Paths | None = None, timeout: float = 10.0) -> int:
    """The keeper's pid once one runs: the controller hands a new instance's socket over after ``new`` answered
    (a keeper is started then if none runs)."""
    return retry_until(lambda: keeper_pid(paths), timeout, "a port keeper to run")


def kill_keeper(paths: Paths | None = None) -> None:
    """SIGKILL the port keeper (the fallback's case: it is gone too) and wait until it is."""
    pid = running_keeper_pid(paths)
    os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    retry_until(lambda: not pid_alive(pid), 10, "the port keeper to die")

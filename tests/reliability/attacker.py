"""A second local user for the security tests: created with useradd (the tests run as root on CI), and code run
as that user in a forked child (os.setuid), so the attacks are the real thing: another uid making directories,
symlinks and sockets where the victim's tmuxclaude will look."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NAME = "tcattacker"


@dataclass(frozen=True)
class Attacker:
    uid: int
    gid: int

    def run(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` as the attacker in a forked child; fail the test if it raises."""
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                self._become()
                fn()
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "the attacker's step failed"

    def _become(self) -> None:
        os.setgroups([])
        os.setgid(self.gid)
        os.setuid(self.uid)

    @contextlib.contextmanager
    def serve_unix(self, path: Path, reply: Any, log: Path, *, bind_as_victim: bool = False) -> Iterator[Path]:
        """A fake server run by the attacker at ``path``: it answers every line with ``reply`` (JSON) and
        appends what it receives to ``log`` (opened by the test, so it can live anywhere). Yields ``log``.

        ``bind_as_victim``: the socket file is made by the victim (in the victim's private dir) and only then
        served by the attacker (listen() after setuid): the file's owner looks right, only SO_PEERCRED tells.
        """
        log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        ready_r, ready_w = os.pipe()
        sock = None
        if bind_as_victim:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(str(path))
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                os.close(ready_r)
                self._become()
                server = sock or socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                if sock is None:
                    server.bind(str(path))
                    os.chmod(path, 0o777)
                server.listen(16)
                os.write(ready_w, b"1")
                while True:
                    conn, _ = server.accept()
                    with conn:
                        conn.settimeout(5)
                        try:
                            data = conn.recv(65536)
                        except OSError:
                            data = b""
                        os.write(log_fd, data or b"<connected, sent nothing>\n")
                        if data:
                            with contextlib.suppress(OSError):
                                conn.sendall(json.dumps(reply).encode() + b"\n")
            finally:
                os._exit(0)
        os.close(ready_w)
        os.close(log_fd)
        if sock is not None:
            sock.close()
        try:
            assert os.read(ready_r, 1) == b"1", "attacker server did not start"
            yield log
        finally:
            os.close(ready_r)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


@contextlib.contextmanager
def serving_tcp(owner: Attacker | None) -> Iterator[int]:
    """A TCP listener on 127.0.0.1 (port 0) that accepts and holds connections, run as ``owner`` (None: as the
    victim, in a forked child too). Yields its port."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(ready_r)
            if owner is not None:
                owner._become()
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.bind(("127.0.0.1", 0))
            server.listen(16)
            os.write(ready_w, str(server.getsockname()[1]).encode())
            held = []
            while True:
                held.append(server.accept()[0])
        finally:
            os._exit(0)
    os.close(ready_w)
    try:
        port = int(os.read(ready_r, 16) or b"0")
        assert port, "listener did not start"
        yield port
    finally:
        os.close(ready_r)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def create_attacker() -> Attacker | str:
    """The second user (created once, kept: it has no home and no login), or why it cannot exist here."""
    if os.geteuid() != 0:
        return "a second local user needs root to create (useradd); run the suite as root, as CI does"
    if shutil.which("useradd") is None:
        return "useradd is not available to create a second local user"
    try:
        entry = pwd.getpwnam(NAME)
    except KeyError:
        out = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", NAME],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0 and "already exists" not in out.stderr:
            return f"useradd failed: {out.stderr.strip()}"
        entry = pwd.getpwnam(NAME)
    return Attacker(entry.pw_uid, entry.pw_gid)

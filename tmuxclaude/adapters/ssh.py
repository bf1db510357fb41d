"""OpenSSH to the ``[hosts.NAME]`` hosts: one shared master connection per host (ControlMaster, its socket in our
private runtime dir), every other ssh multiplexed over it.

Every ssh here runs with BatchMode=yes (never a password prompt in a controller) and the host's ConnectTimeout;
host key checking is whatever the user's ssh config says and is never turned off. The destination follows
``--``; the remote command is one shell line built by ``model.hosts.remote_argv``, every word quoted. No secret
ever goes on an ssh argv, and ssh runs directly (never through a local shell).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import selectors
import subprocess
import time
from pathlib import Path

from tmuxclaude.adapters.paths import Paths, ensure_private_dir
from tmuxclaude.errors import HostError
from tmuxclaude.model.hosts import HostConfig, last_line

__all__ = ["SshHost", "last_line"]

KEEPALIVE = 1
"""Seconds between keepalives on the master (its own process wakes, not the controller): a cut link is noticed
within 3-4 s, inside the default connect timeout."""


MAX_ANSWER = 1 << 20
"""Bytes of a command's output (stdout, stderr each) read from a host; a larger answer is refused, never held
whole (a hostile host could send gigabytes within the command's timeout)."""


def _read_bounded(proc: subprocess.Popen[bytes], timeout: float, limit: int) -> tuple[bytes, bytes]:
    """Both pipes of ``proc`` until it exits; killed (and TimeoutExpired or OverflowError raised) past ``timeout``
    or past ``limit`` bytes on either."""
    assert proc.stdout is not None and proc.stderr is not None
    deadline = time.monotonic() + timeout
    bufs = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    with selectors.DefaultSelector() as sel:
        for fd in bufs:
            sel.register(fd, selectors.EVENT_READ)
        try:
            while sel.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise subprocess.TimeoutExpired(proc.args, timeout)
                for key, _ in sel.select(left):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        sel.unregister(key.fd)
                        continue
                    bufs[key.fd] += chunk
                    if len(bufs[key.fd]) > limit:
                        raise OverflowError
            proc.wait(max(0.0, deadline - time.monotonic()))
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    return bytes(bufs[proc.stdout.fileno()]), bytes(bufs[proc.stderr.fileno()])


class SshHost:
    """One host's ssh argvs and its master connection."""

    def __init__(self, host: HostConfig, paths: Paths) -> None:
        self.host = host
        self.paths = paths
        self.dir = paths.runtime_dir / "ssh"
        self.control_path = self.dir / host.name

    def _ensure_dir(self) -> None:
        ensure_private_dir(self.dir, self.paths.runtime_root)

    def options(self) -> list[str]:
        out = ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, round(self.host.connect_timeout))}",
               "-o", f"ControlPath={str(self.control_path).replace('%', '%%')}",  # ssh expands %-tokens there
               "-o", "LogLevel=ERROR"]  # fmt: skip
        for option in self.host.ssh_options:
            out += ["-o", option]
        return out

    def master_argv(self) -> list[str]:
        """The shared connection: backgrounds itself (-f) once authenticated, so its exit status says whether
        the host is reachable; it lives until the link dies (keepalives) or ``exit_master``."""
        return ["ssh", "-f", "-N", "-o", "ControlMaster=yes", "-o", "ControlPersist=no",
                "-o", f"ServerAliveInterval={KEEPALIVE}", "-o", "ServerAliveCountMax=3",
                *self.options(), "--", self.host.ssh]  # fmt: skip

    def command_argv(self, remote_line: str, *, tty: bool = False) -> list[str]:
        """``remote_line`` run on the host over the shared connection (directly when there is none)."""
        return ["ssh", "-t" if tty else "-T", "-o", "ControlMaster=no", *self.options(), "--", self.host.ssh,
                remote_line]  # fmt: skip

    def control_argv(self, op: str) -> list[str]:
        return ["ssh", "-O", op, *self.options(), "--", self.host.ssh]

    # -- the master connection ---------------------------------------------------------------------------------

    def master_alive(self) -> bool:
        if not self.control_path.exists():
            return False
        try:
            out = subprocess.run(self.control_argv("check"), stdin=subprocess.DEVNULL, capture_output=True,
                                 timeout=5, check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return False
        return out.returncode == 0

    def start_master(self) -> None:
        """Connect (or reuse a live master). Raises HostError with ssh's own one-line reason."""
        self._ensure_dir()
        if self.master_alive():
            return
        with contextlib.suppress(FileNotFoundError):
            self.control_path.unlink()  # a dead master's socket (our private dir: nobody else made it)
        errfile = self.dir / f"{self.host.name}.err"
        # stderr to a file: the backgrounded master keeps it open, so a pipe would never reach EOF.
        fd = os.open(errfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            proc = subprocess.Popen(self.master_argv(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=fd, start_new_session=True)  # fmt: skip
        finally:
            os.close(fd)
        try:
            code = proc.wait(self.host.connect_timeout + 3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise HostError(f"host {self.host.name}: no answer within {self.host.connect_timeout:g} s") from None
        if code != 0:
            reason = last_line(Path(errfile).read_bytes(), f"ssh exited {code}")
            raise HostError(f"host {self.host.name}: {reason}")

    def exit_master(self) -> None:
        if self.control_path.exists():
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                subprocess.run(self.control_argv("exit"), stdin=subprocess.DEVNULL, capture_output=True, timeout=5,
                               check=False)  # fmt: skip

    # -- commands ----------------------------------------------------------------------------------------------

    def run(self, remote_line: str, *, timeout: float) -> subprocess.CompletedProcess[str]:
        """Run a command there (blocking; the controller calls it in a thread). Raises HostError when ssh itself
        fails (exit 255) or the command outlives ``timeout``."""
        try:
            proc = subprocess.Popen(self.command_argv(remote_line), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)  # fmt: skip
        except OSError as exc:
            raise HostError(f"host {self.host.name}: cannot run ssh: {exc.strerror}") from None
        with proc:
            try:
                stdout, stderr = _read_bounded(proc, timeout, MAX_ANSWER)
            except subprocess.TimeoutExpired:
                raise HostError(f"host {self.host.name}: no answer within {timeout:g} s") from None
            except OverflowError:
                raise HostError(f"host {self.host.name}: answer too large (over {MAX_ANSWER} bytes)") from None
        out = subprocess.CompletedProcess(proc.args, proc.returncode, stdout.decode(errors="replace"),
                                          stderr.decode(errors="replace"))  # fmt: skip
        if out.returncode == 255:
            raise HostError(f"host {self.host.name}: {last_line(out.stderr, 'ssh failed')}")
        return out

    async def run_async(self, remote_line: str, *, timeout: float) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(self.run, remote_line, timeout=timeout)

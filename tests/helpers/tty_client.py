"""A real tmux client attached in a pseudo-terminal, for what needs one: menus, messages, bells."""

from __future__ import annotations

import contextlib
import os
import pty
import subprocess
import threading
from collections.abc import Callable, Iterator

from tests.helpers.env import Env
from tests.helpers.waiting import retry_until


def _close(proc: subprocess.Popen[bytes], master: int, reader: threading.Thread) -> None:
    """Stop the client, then close the pty only once the reader thread is done with it: a descriptor closed under
    a thread still reading it gets reused by the next pipe (a subprocess's stdout) and that thread eats its output."""
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
    reader.join(5)  # the client gone, reading the master ends (EIO)
    if not reader.is_alive():
        with contextlib.suppress(OSError):
            os.close(master)


@contextlib.contextmanager
def _client(env: Env, session: str, on_output: Callable[[bytes], None]) -> Iterator[int]:
    """Attach a client to ``session`` in a fresh pty; every chunk it paints goes to ``on_output``. Yields the master."""
    master, slave = pty.openpty()
    child_env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    child_env["TERM"] = "xterm-256color"
    proc = subprocess.Popen(
        ["tmux", "-S", env.socket, "attach", "-t", session],
        stdin=slave, stdout=slave, stderr=slave, env=child_env, start_new_session=True,
    )  # fmt: skip
    os.close(slave)

    def drain() -> None:
        # The client paints the screen into the pty; someone must read it or the client stalls.
        with contextlib.suppress(OSError):
            while data := os.read(master, 65536):
                on_output(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        retry_until(lambda: env.tmux("list-clients", "-F", "#{client_name}"), 10, "client attached")
        yield master
    finally:
        _close(proc, master, reader)


def _discard(data: bytes) -> None:
    pass


@contextlib.contextmanager
def attached_client(env: Env, session: str = "main") -> Iterator[int]:
    """Attach a client to ``session``; yields the pty master fd (write to it to type into the client)."""
    with _client(env, session, _discard) as master:
        yield master


class Terminal:
    """What an attached client painted, kept for tests that must see the screen (a prompt, a message)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._out = bytearray()
        self._lock = threading.Lock()

    def feed(self, data: bytes) -> None:
        with self._lock:
            self._out += data

    def text(self) -> str:
        with self._lock:
            return self._out.decode(errors="replace")

    def mark(self) -> int:
        """Where the output is now: ``seen(text, since=mark)`` looks only at what was painted afterwards."""
        with self._lock:
            return len(self._out)

    def seen(self, text: str, since: int = 0) -> bool:
        with self._lock:
            return text.encode() in self._out[since:]

    def type(self, data: str | bytes) -> None:
        os.write(self.fd, data.encode() if isinstance(data, str) else data)


@contextlib.contextmanager
def terminal_client(env: Env, session: str = "main") -> Iterator[Terminal]:
    """Like ``attached_client``, but the screen output is recorded (``Terminal.seen``)."""
    term = Terminal(-1)
    with _client(env, session, term.feed) as master:
        term.fd = master
        yield term

"""A real tmux client attached in a pseudo-terminal, for what needs one: menus, messages, bells."""

from __future__ import annotations

import contextlib
import os
import pty
import subprocess
import threading
from collections.abc import Iterator

from tests.helpers.env import Env
from tests.helpers.waiting import retry_until


@contextlib.contextmanager
def attached_client(env: Env, session: str = "main") -> Iterator[int]:
    """Attach a client to ``session``; yields the pty master fd (write to it to type into the client)."""
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
            while os.read(master, 65536):
                pass

    threading.Thread(target=drain, daemon=True).start()
    try:
        retry_until(lambda: env.tmux("list-clients", "-F", "#{client_name}"), 10, "client attached")
        yield master
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        with contextlib.suppress(OSError):
            os.close(master)

"""``tmuxclaude watch --json`` and ``tmuxclaude attach NAME``: what another machine's tmuxclaude runs here over
ssh. Stdlib only.

watch: one JSON line (``protocol.watch``) now and after every change of this controller's instances, until the
controller stops or the reader goes away. attach: this tmux server, showing one instance's window, in a session
of its own grouped with the instance's (so several viewers each choose their window) that is destroyed once its
client detaches; the instance keeps running.
"""

from __future__ import annotations

import os
import select
import sys

from tmuxclaude.adapters.paths import Paths
from tmuxclaude.adapters.tmux import attach_view_argv, server_session_argv
from tmuxclaude.cli import client
from tmuxclaude.errors import ControllerError, InstanceError
from tmuxclaude.protocol.control import Request, encode_request

__all__ = ["attach", "watch"]


def _ensure_tmux_server(socket: str) -> None:
    """A tmux server for the instances made over ssh: with none running, this host's first ``new`` would have to
    start one itself, a path whose window creation tmux has been seen to answer empty. The session is the one
    instances go to when the caller is outside tmux."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    if subprocess.run(["tmux", "-S", socket, "list-sessions"], capture_output=True, env=env, check=False).returncode:
        subprocess.run(server_session_argv(socket), capture_output=True, env=env, stdin=subprocess.DEVNULL,
                       check=False, cwd=os.path.expanduser("~"))  # fmt: skip


def watch() -> int:
    paths = Paths.current()
    _ensure_tmux_server(paths.tmux_socket)
    try:
        sock = client._connect(paths, 10.0)
    except OSError:
        client.start_controller(paths)
        sock = client._connect(paths, 10.0)
    out = sys.stdout.buffer
    with sock:
        sock.settimeout(None)
        sock.sendall(encode_request(Request("watch", {}, client.client_context())))
        while True:
            # stdin: the reader (over ssh) closes it when it goes away; without a terminal nothing else tells a
            # command that its ssh session has ended, and this one would otherwise wait for the next change.
            ready, _, _ = select.select([sock, sys.stdin], [], [])
            if sys.stdin in ready and not os.read(sys.stdin.fileno(), 4096):
                return 0
            if sock not in ready:
                continue
            chunk = sock.recv(65536)
            if not chunk:
                raise ControllerError("controller stopped")
            try:
                out.write(chunk)
                out.flush()
            except BrokenPipeError:
                return 0


def attach(ref: str) -> None:
    items = client.request("ls")
    found = [i for i in items if not i.get("host") and (i.get("name") == ref or str(i.get("n")) == ref)]
    if not found:
        raise InstanceError(f"no instance {ref!r} here (see `tmuxclaude ls`)")
    window, pane = str(found[0]["window_id"]), str(found[0]["claude_pane"])
    if not (window.startswith("@") and window[1:].isdigit() and pane.startswith("%") and pane[1:].isdigit()):
        raise InstanceError(f"instance {ref!r} has no window")
    view = f"tcview-{os.getpid()}"
    socket = Paths.current().tmux_socket
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    os.execvpe("tmux", attach_view_argv(socket, window, pane, view), env)

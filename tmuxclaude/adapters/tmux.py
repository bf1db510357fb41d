"""tmux through libtmux: one server (by socket path), windows and panes by id, ``@tmuxclaude_*`` user options.

Every command names its target by id (``$1``, ``@2``, ``%3``), never by name, so a user renaming a window
cannot confuse us. tmux expands formats (``#(cmd)`` runs a shell command, ``#{...}`` reads variables) in start
directories (-c), window and session names (-n, -s, rename-window), display-message texts and menus: every such
value goes through ``literal`` (data) or ``shown`` (text) inside this adapter, so no caller can forget it (a
branch or a path is hostile), and every value through ``arg`` (tmux splits commands at a trailing ``;``).
Option values (set-option without -F), targets and pane commands are not expanded.

No environment is ever passed here (``-e KEY=VALUE`` would put the user's proxy and gateway credentials on the
argv of the tmux client, and of a server it starts, for every local user to read): a pane's program is a
launcher that reads its environment from a private file (``adapters/launcher.py``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Mapping, Sequence

from tmuxclaude.errors import TmuxError
from tmuxclaude.model.windows import InstanceWindow, WindowRow

__all__ = [
    "OPTION_PREFIX",
    "InstanceWindow",
    "Tmux",
    "WindowRow",
    "arg",
    "attach_view_argv",
    "literal",
    "server_session_argv",
    "shown",
    "view_window_args",
]

log = logging.getLogger(__name__)

OPTION_PREFIX = "@tmuxclaude_"
WINDOW_OPTIONS = ("id", "name", "port", "state", "glyph", "worktree", "branch", "warn")
"""Every ``@tmuxclaude_*`` window option we set, so a user's own window can be untagged completely."""
SEP = "\x1f"


def arg(value: str) -> str:
    """``value`` as one argument of a tmux command line, kept whole.

    tmux splits its argv into commands at every argument that *ends* with ``;`` (the ``;`` is dropped): a path
    or a name ending in ``;`` would cut the command short and make the next argument a command of its own.
    ``\\;`` at the end is tmux's escape for a literal one.
    """
    return value[:-1] + "\\;" if value.endswith(";") else value


_HASH_RUN = re.compile(r"#+(?![#\[])")


def literal(value: str) -> str:
    """``value`` for a place where tmux expands formats and uses the result as data (a start directory, a window
    name): after expansion it is exactly ``value`` again, and nothing in it ran (``#(``) or was read (``#{``).

    Every ``#`` is doubled, except a run of them right before ``[``: tmux leaves ``#[`` (a style) as it is, and
    ``##[`` too, so doubling those would change the value. A trailing ``;`` is escaped (see ``arg``); a
    positional value also goes after ``--`` at the call, so a leading ``-`` is not a flag.
    """
    return arg(_HASH_RUN.sub(lambda m: m.group() * 2, value))


def shown(value: str) -> str:
    """``value`` for a text tmux expands and then draws (display-message, menu labels): every ``#`` doubled, so
    nothing runs and ``#[`` is drawn as text, not taken as a style."""
    return arg(value.replace("#", "##"))


def view_window_args(session: str, name: str, cmd: Sequence[str]) -> list[str]:
    """Arguments of the tmux command that opens a detached window named ``name`` running ``cmd`` in ``session``
    (a new session "tmuxclaude" when there is none), printing its id: a window onto another host's instance."""
    first = ["new-window", "-d", "-t", f"{session}:"] if session else ["new-session", "-d", "-s", "tmuxclaude"]
    return [*first, "-P", "-F", "#{window_id}", "-n", literal(name), *map(arg, cmd)]


def server_session_argv(socket: str) -> list[str]:
    """A tmux client argv that starts the server on ``socket`` with the session instances go to by default."""
    return ["tmux", "-S", socket, "new-session", "-d", "-s", "tmuxclaude"]


def attach_view_argv(socket: str, window: str, pane: str, view: str) -> list[str]:
    """A tmux client argv that attaches a new session ``view`` grouped with ``window``'s (so each viewer picks its
    own window), destroyed when it detaches, showing ``window`` and ``pane``: ids and a name of ours only.
    The commands after new-session act on the new session (the client's own)."""
    return ["tmux", "-S", socket, "new-session", "-t", window, "-s", view, ";", "set-option", "destroy-unattached",
            "on", ";", "select-window", "-t", window, ";", "select-pane", "-t", pane]  # fmt: skip


def _chain(commands: list[list[str]]) -> list[str]:
    """Several tmux commands as one invocation (each costs a fork and a few ms): joined by ";"."""
    args: list[str] = []
    for command in commands:
        if args:
            args.append(";")
        args += command
    return args


class Tmux:
    def __init__(self, socket_path: str) -> None:
        # Imported here: the CLI's stdlib-only fast path (tmuxclaude pick) uses ``literal`` from this module.
        import libtmux

        self.socket_path = socket_path
        self._server = libtmux.Server(socket_path=socket_path)

    def run(self, *args: str, check: bool = True) -> list[str]:
        proc = self._server.cmd(*args)
        if check and proc.returncode != 0:
            message = " ".join(proc.stderr) or f"exit {proc.returncode}"
            raise TmuxError(f"tmux {args[0]}: {message}")
        return list(proc.stdout)

    def alive(self) -> bool:
        return os.path.exists(self.socket_path) and self._server.cmd("list-sessions").returncode == 0

    def server_id(self) -> str:
        """``pid:start_time`` of the running server ("" when none runs): a server started again on the same
        socket (killed, rebooted) has another, so its missing windows were not closed by the user."""
        out = self.run("display-message", "-p", "#{pid}:#{start_time}", check=False)
        return out[0] if out and ":" in out[0] else ""

    def pane_info(self, pane: str) -> dict[str, str] | None:
        fmt = SEP.join(["#{session_id}", "#{window_id}", "#{pane_id}", "#{pane_pid}", "#{pane_current_path}"])
        out = self.run("display-message", "-p", "-t", pane, fmt, check=False)
        if not out or SEP not in out[0]:
            return None
        session_id, window_id, pane_id, pid, cwd = out[0].split(SEP)
        return {
            "session_id": session_id,
            "window_id": window_id,
            "pane_id": pane_id,
            "pane_pid": pid,
            "cwd": cwd,
        }

    def session_exists(self, target: str) -> bool:
        return self._server.cmd("has-session", "-t", target).returncode == 0

    def create_instance_window(
        self,
        *,
        session: str | None,
        fallback_session: str,
        name: str,
        cwd: str,
        nvim_cmd: Sequence[str],
        claude_cmd: Sequence[str],
        options: Mapping[str, str],
        focus: bool,
    ) -> InstanceWindow:
        """Create the window (Neovim pane left, Claude pane right). On failure nothing is left behind.

        One tmux invocation does it all (each costs a few ms): commands in a sequence do not follow a window
        created with -d, so the window gets a unique temporary name to be targeted by, then its real one. Claude's
        pane is the window's first process (the one the user waits for starts before Neovim), and Neovim's is
        split off to its left (``-b``): the layout and the pane order (Neovim first) stay the same.
        """
        fmt = SEP.join(["#{session_id}", "#{window_id}", "#{pane_id}", "#{pid}:#{start_time}"])
        temp = f"tc-{options.get('id', 'new')}"
        if session is None and not self.session_exists(f"={fallback_session}"):
            self._make_default_socket_dir()
            first = ["new-session", "-d", "-P", "-F", fmt, "-s", fallback_session]
            target_session = f"={fallback_session}"
        else:
            target_session = session if session is not None else f"={fallback_session}"
            first = ["new-window", "-d", "-P", "-F", fmt, "-t", f"{target_session}:"]
        target = f"{target_session}:={temp}"
        args = _chain(
            [
                [*first, "-n", temp, "-c", literal(cwd), *map(arg, claude_cmd)],
                *([ "set-option", "-w", "-t", target, f"{OPTION_PREFIX}{k}", arg(v)] for k, v in options.items()),
                # automatic-rename would replace the instance name with the program's; the name is the user's handle.
                ["set-option", "-w", "-t", target, "automatic-rename", "off"],
                ["split-window", "-h", "-b", "-d", "-P", "-F", "#{pane_id}", "-t", target, "-c", literal(cwd),
                 *map(arg, nvim_cmd)],
                # Claude's pane stays the active one (split -d): selecting the window shows it.
                *([["select-window", "-t", target]] if focus else []),
                ["rename-window", "-t", target, "--", literal(name)],
            ]
        )  # fmt: skip
        out: list[str] = []
        try:
            out = self.run(*args)
            if len(out) < 2 or out[0].count(SEP) != 3:
                # The -P lines are the client's stdout, which a client that had to start the server first has
                # been seen to return empty; the window's tag names it just as well.
                out = self._find_tagged(options.get("id", ""))
            session_id, window_id, claude_pane, server = out[0].split(SEP)
            nvim_pane = out[1]
        except TmuxError:
            self.run("kill-window", "-t", target, check=False)
            raise
        except (IndexError, ValueError):
            self.run("kill-window", "-t", target, check=False)
            raise TmuxError(f"tmux new-window: unexpected output {out!r}") from None
        return InstanceWindow(session_id, window_id, nvim_pane, claude_pane, server if ":" in server else "")

    def _make_default_socket_dir(self) -> None:
        """tmux makes ``$TMUX_TMPDIR/tmux-UID`` only when it picks the socket itself; we always name the socket
        (``-S``), so on a machine where no tmux server ever ran the first new-session would fail to start one."""
        parent = os.path.dirname(self.socket_path)
        if os.path.basename(parent) == f"tmux-{os.getuid()}":
            with contextlib.suppress(FileExistsError):
                os.mkdir(parent, 0o700)  # an existing one is tmux's to check: it refuses an unsafe directory

    def _find_tagged(self, instance_id: str) -> list[str]:
        """``create_instance_window``'s output, rebuilt from the window tagged ``instance_id``."""
        fmt = SEP.join(["#{session_id}", "#{window_id}", "#{pane_id}", "#{@tmuxclaude_id}"])
        rows = [r.split(SEP) for r in self.run("list-panes", "-a", "-F", fmt, check=False)]
        panes = [r for r in rows if len(r) == 4 and instance_id and r[3] == instance_id]
        if len(panes) != 2:
            return []
        return [SEP.join([*panes[1][:3], ""]), panes[0][2]]  # Claude's pane (the right one), then Neovim's

    def split(self, pane: str, *, cwd: str, cmd: Sequence[str]) -> str:
        out = self.run(
            "split-window", "-h", "-d", "-P", "-F", "#{pane_id}", "-t", pane, "-c", literal(cwd), *map(arg, cmd)
        )  # fmt: skip
        return out[0]

    def set_window_options(self, window: str, options: Mapping[str, str], *, check: bool = True) -> None:
        if options:
            self.run(
                *_chain(
                    [["set-option", "-w", "-t", window, f"{OPTION_PREFIX}{k}", arg(v)] for k, v in options.items()]
                ),
                check=check,
            )

    def untag_window(self, window: str) -> None:
        """Remove every ``@tmuxclaude_*`` option from a window (a user's own window we joined)."""
        self.run(*_chain([["set-option", "-wu", "-t", window, f"{OPTION_PREFIX}{k}"] for k in WINDOW_OPTIONS]),
                 check=False)  # fmt: skip

    def respawn(self, pane: str, *, cwd: str, cmd: Sequence[str]) -> None:
        """Replace the program running in ``pane`` (the pane id stays)."""
        self.run("respawn-pane", "-k", "-t", pane, "-c", literal(cwd), *map(arg, cmd))

    def pane_paths(self) -> dict[str, str]:
        """Every pane's current directory, by pane id."""
        found: dict[str, str] = {}
        for line in self.run("list-panes", "-a", "-F", "#{pane_id} #{pane_current_path}", check=False):
            pane, _, path = line.partition(" ")
            if pane and path:
                found[pane] = path
        return found

    def window_options(self, window: str) -> dict[str, str]:
        """Our ``@tmuxclaude_*`` options of a window, without the prefix (unset ones left out).

        Read through a format, which substitutes the raw values: ``show-options`` quotes and escapes them
        (``$``, ``"``, ``\\``), and a worktree path must come back exactly as it was set.
        """
        fmt = SEP.join(f"#{{?{OPTION_PREFIX}{k},1,0}}#{{{OPTION_PREFIX}{k}}}" for k in WINDOW_OPTIONS)
        out = self.run("display-message", "-p", "-t", window, fmt, check=False)
        values = "\n".join(out).split(SEP)
        if len(values) != len(WINDOW_OPTIONS):
            return {}
        return {k: v[1:] for k, v in zip(WINDOW_OPTIONS, values, strict=True) if v[:1] == "1"}

    def window_panes(self, window: str) -> list[str]:
        return [p for p in self.run("list-panes", "-t", window, "-F", "#{pane_id}", check=False) if p]

    def clients(self) -> list[str]:
        return [c for c in self.run("list-clients", "-F", "#{client_name}", check=False) if c]

    def window_activity(self) -> dict[str, float]:
        """Last output time of every window (``window_activity``), by window id."""
        found: dict[str, float] = {}
        for line in self.run("list-windows", "-a", "-F", "#{window_id} #{window_activity}", check=False):
            window, _, stamp = line.partition(" ")
            if stamp.isdigit():
                found[window] = float(stamp)
        return found

    def windows(self) -> list[WindowRow]:
        fmt = SEP.join(
            ["#{session_id}", "#{window_id}", "#{window_active}", "#{session_attached}", "#{@tmuxclaude_id}"]
        )
        rows: list[WindowRow] = []
        for line in self.run("list-windows", "-a", "-F", fmt, check=False):
            parts = line.split(SEP)
            if len(parts) != 5:
                continue
            rows.append(WindowRow(parts[0], parts[1], parts[2] == "1", parts[3] not in ("", "0"), parts[4]))
        return rows

    def panes(self) -> dict[str, dict[str, str]]:
        fmt = SEP.join(["#{pane_id}", "#{window_id}", "#{pane_pid}", "#{pane_dead}"])
        found: dict[str, dict[str, str]] = {}
        for line in self.run("list-panes", "-a", "-F", fmt, check=False):
            parts = line.split(SEP)
            if len(parts) == 4:
                found[parts[0]] = {"window_id": parts[1], "pid": parts[2], "dead": parts[3]}
        return found

    def kill_window(self, window: str) -> bool:
        return self._server.cmd("kill-window", "-t", window).returncode == 0

    def kill_pane(self, pane: str) -> bool:
        return self._server.cmd("kill-pane", "-t", pane).returncode == 0

    def select(self, window: str, pane: str | None = None, client_pane: str | None = None) -> None:
        """Show ``window``: select it in its session and, when the caller sits in another session, switch there."""
        self.run("select-window", "-t", window)
        if pane:
            self.run("select-pane", "-t", pane, check=False)
        if client_pane:
            info = self.pane_info(client_pane)
            target = self.pane_info(pane or window)
            if info and target and info["session_id"] != target["session_id"]:
                clients = self.run("list-clients", "-F", "#{client_tty}\x1f#{session_id}", check=False)
                for line in clients:
                    tty, sid = [*line.split(SEP), ""][:2]
                    if sid == info["session_id"]:
                        self.run("switch-client", "-c", tty, "-t", target["session_id"], check=False)

    def message_clients(self, text: str, *, seconds: float = 0) -> None:
        """Show ``text`` (literally) on every attached client, for ``seconds`` (0: the user's display-time)."""
        duration = ["-d", str(int(seconds * 1000))] if seconds > 0 else []
        for client in self.clients():
            self.run("display-message", "-c", client, *duration, "--", shown(text), check=False)

    def show_message(self, pane: str, text: str) -> None:
        """Show ``text`` (literally) on the clients looking at ``pane``."""
        self.run("display-message", "-t", pane, "--", shown(text), check=False)

    def set_global_option(self, name: str, value: str) -> None:
        """A user option of the whole server (``@tmuxclaude_summary``); ``value`` is data, never a format."""
        self.run("set-option", "-g", name, value, check=False)

    def capture(self, pane: str, *, history: int) -> tuple[list[str], int]:
        """The pane's text with ``history`` lines of scrollback (wrapped lines joined), and its width (0 when
        the pane is gone)."""
        screen = self.run("capture-pane", "-p", "-J", "-t", pane, "-S", f"-{history}", check=False)
        width = self.run("display-message", "-p", "-t", pane, "#{pane_width}", check=False)
        return screen, int(width[0]) if width and width[0].isdigit() else 0

    def pane_tty(self, pane: str) -> str:
        out = self.run("display-message", "-p", "-t", pane, "#{pane_tty}", check=False)
        return out[0] if out else ""

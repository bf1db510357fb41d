"""Local tmux windows that show another host's instance (``ssh -t`` to that host's tmux), as the controller's
``RemoteWindowsPort``: each carries the window option ``@tmuxclaude_remote`` = ``HOST:NAME`` and the state glyph
the status line draws. What a host said (its instance names, hence the labels) is escaped here before it reaches
tmux (``arg``, ``literal``)."""

from __future__ import annotations

from collections.abc import Sequence

from tmuxclaude.adapters.tmux import OPTION_PREFIX, SEP, Tmux, arg, view_window_args

__all__ = ["REMOTE_OPTION", "RemoteWindows"]

REMOTE_OPTION = f"{OPTION_PREFIX}remote"
"""Window option of a local window showing a remote instance: ``HOST:NAME``."""
_GLYPH_OPTION = f"{OPTION_PREFIX}glyph"


class RemoteWindows:
    def __init__(self, tmux: Tmux) -> None:
        self.tmux = tmux

    def first_session(self) -> str:
        sessions = self.tmux.run("list-sessions", "-F", "#{session_id}", check=False)
        return sessions[0] if sessions else ""

    def create_view(self, session: str, label: str, cmd: Sequence[str], *, glyph: str) -> str:
        window = self.tmux.run(*view_window_args(session, label, cmd))[0]
        self.tmux.run("set-option", "-w", "-t", window, REMOTE_OPTION, arg(label), ";",
                      "set-option", "-w", "-t", window, _GLYPH_OPTION, arg(glyph), ";",
                      "set-option", "-w", "-t", window, "automatic-rename", "off", check=False)  # fmt: skip
        return window

    def views(self) -> list[tuple[str, str]]:
        found = []
        for line in self.tmux.run("list-windows", "-a", "-F", f"#{{window_id}}{SEP}#{{{REMOTE_OPTION}}}", check=False):
            window, _, label = line.partition(SEP)
            if label:
                found.append((window, label))
        return found

    def view_of_pane(self, pane: str) -> str:
        out = self.tmux.run("display-message", "-p", "-t", pane, f"#{{{REMOTE_OPTION}}}", check=False)
        return out[0] if out else ""

    def set_glyph(self, window: str, glyph: str) -> None:
        self.tmux.run("set-option", "-w", "-t", window, _GLYPH_OPTION, arg(glyph), check=False)

    def client_ttys(self) -> list[str]:
        return [tty for tty in self.tmux.run("list-clients", "-F", "#{client_tty}", check=False) if tty]

"""tmux helpers for e2e tests: a private tmux server (own socket, ``-f /dev/null``) and screen polling.

Everything goes through ``tmux -S <socket>`` via :mod:`subprocess`; the developer's tmux is never touched
(``TMUX``/``TMUX_PANE`` are removed from the environment of every tmux call).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from tests.helpers.waiting import WaitTimeout, retry_until

__all__ = [
    "READY_RE",
    "Pane",
    "ScreenTimeout",
    "TmuxServer",
    "capture",
    "is_ready",
    "press",
    "tmux",
    "type_text",
    "wait_for_screen",
    "wait_ready",
]

TMUX_BIN = os.environ.get("TMUXCLAUDE_TEST_TMUX", "tmux")
POLL_INTERVAL = 0.05

#: The CLI's input box: a ``❯`` line directly under a ``────`` rule (claude-cli.md). A named session (a resumed
#: background session, 2.1.332+) shows its name inside the rule: ``──── name ─``.
READY_RE = re.compile(r"^[ \t]*─{4,}(?:[^\n]*─)?[ \t]*\n[ \t]*❯", re.MULTILINE)


class ScreenTimeout(AssertionError):
    """A screen condition was not met in time; the message carries the last screen."""

    def __init__(self, message: str, screen: str) -> None:
        super().__init__(message)
        self.screen = screen


def _clean_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    out = dict(os.environ if env is None else env)
    out.pop("TMUX", None)
    out.pop("TMUX_PANE", None)
    return out


def tmux(socket: Path, *args: str, check: bool = True, timeout: float = 10.0) -> str:
    """Run ``tmux -S socket args...`` and return stdout."""
    proc = subprocess.run(
        [TMUX_BIN, "-S", str(socket), *args],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise RuntimeError(f"tmux {shlex.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


@dataclass(frozen=True)
class Pane:
    """A pane on a private tmux server: ``target`` is its pane id (``%N``)."""

    socket: Path
    target: str

    def tmux(self, *args: str, check: bool = True) -> str:
        return tmux(self.socket, *args, check=check)

    @property
    def pid(self) -> int:
        """PID of the process the pane runs."""
        return int(self.tmux("display-message", "-p", "-t", self.target, "#{pane_pid}").strip())

    @property
    def dead(self) -> bool:
        out = self.tmux("display-message", "-p", "-t", self.target, "#{pane_dead}", check=False)
        return out.strip() == "1"

    @property
    def exit_status(self) -> int | None:
        out = self.tmux("display-message", "-p", "-t", self.target, "#{pane_dead_status}", check=False)
        return int(out) if out.strip().lstrip("-").isdigit() else None


class TmuxServer:
    """A private tmux server on ``socket`` (started with ``-f /dev/null`` and without TMUX in its env).

    Panes keep their last screen after the program exits (``remain-on-exit on``), so failures are
    inspectable. Call :meth:`kill` (or use as a context manager) to stop the server.
    """

    def __init__(self, socket: Path, *, width: int = 200, height: int = 50) -> None:
        self.socket = Path(socket)
        self.width = width
        self.height = height
        self._sessions = 0

    def tmux(self, *args: str, check: bool = True) -> str:
        return tmux(self.socket, *args, check=check)

    def spawn(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        name: str | None = None,
    ) -> Pane:
        """Run ``command`` in a new detached session; the program sees exactly ``env`` (via ``env -i``)."""
        self._sessions += 1
        session = name or f"e2e{self._sessions}"
        argv = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *command]
        first = not self.socket.exists()
        prefix: list[str] = ["-f", "/dev/null"] if first else []
        out = self.tmux(
            *prefix,
            "start-server",
            ";",
            "set-option",
            "-g",
            "remain-on-exit",
            "on",
            ";",
            "set-option",
            "-g",
            "history-limit",
            "5000",
            ";",
            "new-session",
            "-d",
            "-P",
            "-F",
            "#{pane_id}",
            "-s",
            session,
            "-x",
            str(self.width),
            "-y",
            str(self.height),
            "-c",
            str(cwd),
            *argv,
        )
        return Pane(self.socket, out.strip().splitlines()[-1])

    def kill(self) -> None:
        if self.socket.exists():
            self.tmux("kill-server", check=False)
            with contextlib.suppress(FileNotFoundError):
                self.socket.unlink()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


def capture(pane: Pane) -> str:
    """The visible screen of ``pane`` (wrapped lines joined)."""
    return pane.tmux("capture-pane", "-p", "-J", "-t", pane.target)


def is_ready(screen: str) -> bool:
    """True when the screen shows the CLI's input box."""
    return READY_RE.search(screen) is not None


def wait_for_screen(
    pane: Pane,
    condition: Callable[[str], bool] | str | re.Pattern[str],
    timeout: float = 30.0,
    *,
    poll: float = POLL_INTERVAL,
) -> str:
    """Poll the screen until ``condition`` holds and return that screen.

    ``condition`` is a predicate over the screen text, or a regex (string or compiled, searched with
    MULTILINE). Raises :class:`ScreenTimeout` with the last screen on timeout.
    """
    check: Callable[[str], bool]
    if isinstance(condition, str | re.Pattern):
        pattern = re.compile(condition, re.MULTILINE) if isinstance(condition, str) else condition
        check = lambda screen: pattern.search(screen) is not None  # noqa: E731
        what = f"/{pattern.pattern}/"
    else:
        check = condition
        what = getattr(condition, "__name__", repr(condition))

    last = ""

    def matches() -> bool:
        nonlocal last
        last = capture(pane)
        return check(last)

    try:
        retry_until(matches, timeout, f"screen condition {what}", interval=poll)
        return last
    except WaitTimeout:
        dead = " (pane is dead)" if pane.dead else ""
        raise ScreenTimeout(
            f"screen condition {what} not met within {timeout}s{dead}; last screen:\n{last}", last
        ) from None


def wait_ready(pane: Pane, timeout: float = 30.0) -> str:
    """Wait until the CLI shows its input box (a ``❯`` line directly under a ``────`` rule)."""
    return wait_for_screen(pane, is_ready, timeout)


def type_text(pane: Pane, text: str) -> None:
    """Type ``text`` literally into the pane (``send-keys -l``)."""
    pane.tmux("send-keys", "-t", pane.target, "-l", "--", text)


def press(pane: Pane, *keys: str) -> None:
    """Press tmux keys, e.g. ``press(pane, "Enter")`` or ``press(pane, "Escape", "C-c")``."""
    if keys:
        pane.tmux("send-keys", "-t", pane.target, *keys)

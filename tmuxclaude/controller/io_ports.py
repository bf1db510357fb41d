"""The I/O the use cases need besides tmux, git, locks and state (controller/ports.py): processes, private files,
Claude Code's own session files, the pane launchers, text in and out of panes, the links to other hosts and
their view windows here, and the naming formatter. Each is a ``typing.Protocol``; ``IoPorts`` bundles one of each.

The real ones are built by the composition root (``controller/compose_io.py``); unit tests pass fakes
(tests/controller/fakes.py). Nothing here does I/O, and nothing here names an adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tmuxclaude.model.hosts import HostConfig
from tmuxclaude.model.processes import TreeStats
from tmuxclaude.model.review import FileText

__all__ = [
    "ClaudeSessionsPort",
    "CommandAnswer",
    "FileReader",
    "FilesPort",
    "FormatterResolver",
    "IoPorts",
    "LauncherPort",
    "PaneTextPort",
    "ProcessPort",
    "RemoteWindowsPort",
    "SshConnector",
    "SshLinkPort",
]


class ProcessPort(Protocol):
    """Processes of this machine (``adapters.procs``, the module itself satisfies this)."""

    def pid_alive(self, pid: int | None) -> bool: ...
    def pane_of(self, pid: int, pane_pids: dict[int, str]) -> str: ...
    def has_children(self, pid: int) -> bool | None: ...
    def tree_stats(self, pids: list[int], interval_cache: dict[int, Any] | None = None) -> TreeStats: ...
    def end_process(self, pid: int, timeout: float = 5.0) -> bool:
        """SIGTERM to a process of this user, then wait for it (blocking): False if it is still there."""
        ...


FileReader = Callable[[str, int], FileText]
"""``(path, max bytes) -> FileText``: a file's current text, bounded, regular files only, never blocking."""


class FilesPort(Protocol):
    """Our private files and directories, and the files a new worktree gets copied (``adapters.local_files``)."""

    def write_private(self, path: Path, data: bytes | str) -> None: ...
    def ensure_private_dir(self, path: Path, root: Path | None = None) -> Path: ...
    def check_private_socket(self, path: Path) -> None: ...
    def read_file_text(self, path: str, max_bytes: int) -> FileText: ...
    def include_patterns(self, main_root: Path, configured: Sequence[str]) -> list[str]: ...
    def copy_includes(self, main_root: Path, root: Path, patterns: Sequence[str], *, symlink: bool) -> list[str]: ...


class ClaudeSessionsPort(Protocol):
    """Claude Code's own sessions, read from outside (``adapters.claude_sessions``, the module satisfies this).
    Blocking: called off the event loop. Every value read is raw and validated in model/claude_sessions.py."""

    def claude_config_dir(self, env: dict[str, str] | None = None) -> Path: ...
    def list_agents(self, command: Sequence[str], env: Mapping[str, str], timeout: float = 3.0) -> list[Any] | None: ...
    def read_job(self, config_dir: Path, job_id: str) -> dict[str, Any]: ...
    def read_session_files(self, config_dir: Path, limit: int = 200) -> list[Any]: ...
    def conversation_exists(self, config_dir: Path, session_id: str) -> bool: ...
    def parent_session_of(self, config_dir: Path, job_id: str) -> str: ...
    def stop_job(self, command: Sequence[str], env: Mapping[str, str], job_id: str, timeout: float = 10.0) -> bool: ...
    def has_claude_worktrees(self, root: str) -> bool: ...


class LauncherPort(Protocol):
    """How an instance's panes start their programs (``adapters.pane_launcher.PaneLauncher``): the environment
    in a private file, the launcher scripts on argv, the arguments and environment that prepare its Neovim."""

    @property
    def nvim_instance_args(self) -> Sequence[str]: ...
    def nvim_instance_env(self) -> dict[str, str]: ...
    def env_file(self, runtime_dir: Path, instance_id: str, pane: str) -> Path: ...
    def write_env_file(self, path: Path, env: Mapping[str, str]) -> None: ...
    def remove_env_files(self, runtime_dir: Path, instance_id: str) -> None: ...
    def nvim_pane_command(self, env_path: Path, command: Sequence[str]) -> list[str]: ...
    def claude_pane_command(
        self, env_path: Path, *, port: int, token_file: Path, name: str, command: Sequence[str]
    ) -> list[str]: ...


class PaneTextPort(Protocol):
    """Text into and out of the panes of the controller's tmux server (``adapters.tmux_text.PaneText``), as data
    only. Blocking: called off the event loop."""

    def resolve_pane(self, ref: str) -> str: ...
    def capture_pane(self, pane_id: str, *, max_lines: int, max_bytes: int) -> tuple[str, int]: ...
    def list_panes(self) -> list[dict[str, str]]: ...
    def capture_screen(self, pane_id: str) -> str: ...
    def paste_prompt(self, pane_id: str, text: str) -> None: ...


class CommandAnswer(Protocol):
    """What a command run on another host answered (``subprocess.CompletedProcess[str]``)."""

    @property
    def returncode(self) -> int: ...
    @property
    def stdout(self) -> str: ...
    @property
    def stderr(self) -> str: ...


class SshLinkPort(Protocol):
    """One host's ssh: its shared master connection and the argvs multiplexed over it (``adapters.ssh.SshHost``)."""

    def start_master(self) -> None: ...
    def exit_master(self) -> None: ...
    def command_argv(self, remote_line: str, *, tty: bool = False) -> list[str]: ...
    async def run_async(self, remote_line: str, *, timeout: float) -> CommandAnswer: ...


SshConnector = Callable[[HostConfig], SshLinkPort]
"""``host -> its ssh link`` (its control socket under our private runtime dir)."""


class RemoteWindowsPort(Protocol):
    """The local windows that show another host's instance (``adapters.remote_windows.RemoteWindows``): each
    tagged with the ``HOST:NAME`` it shows; every value is escaped by the adapter before it reaches tmux."""

    def first_session(self) -> str: ...
    def create_view(self, session: str, label: str, cmd: Sequence[str], *, glyph: str) -> str:
        """A new window in ``session`` running ``cmd``, tagged ``label``, showing ``glyph``; its window id."""
        ...

    def views(self) -> list[tuple[str, str]]:
        """(window id, ``HOST:NAME``) of every window that shows a remote instance."""
        ...

    def view_of_pane(self, pane: str) -> str:
        """The ``HOST:NAME`` the window of ``pane`` shows ("" when it shows none)."""
        ...

    def set_glyph(self, window: str, glyph: str) -> None: ...
    def client_ttys(self) -> list[str]: ...


FormatterResolver = Callable[[str], Callable[..., object]]
"""``module:function`` -> the user's naming function (``[instance_naming] custom_formatter``)."""


@dataclass(frozen=True)
class IoPorts:
    """One of each port above: ``Runtime.io``."""

    processes: ProcessPort
    files: FilesPort
    claude_sessions: ClaudeSessionsPort
    launcher: LauncherPort
    pane_text: PaneTextPort
    ssh: SshConnector
    remote_windows: RemoteWindowsPort
    formatter: FormatterResolver

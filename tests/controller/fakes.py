"""In-memory stand-ins for the controller's ports (controller/ports.py): tmux, git, lock store, state store,
clock, port binder and IDE server; and of its I/O ports (controller/ports.py): pane text, the remote view
windows, ssh links, processes and Claude's session files. For unit tests of the use cases only; integration tests
use the real things."""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tmuxclaude.adapters import claude_sessions, procs
from tmuxclaude.adapters.claude_cli import LocalClaudeCli
from tmuxclaude.adapters.formatter import resolve_formatter
from tmuxclaude.adapters.git import WorktreeInfo
from tmuxclaude.adapters.local_files import LocalFiles
from tmuxclaude.adapters.pane_launcher import PaneLauncher
from tmuxclaude.adapters.paths import Paths
from tmuxclaude.adapters.tmux import InstanceWindow, WindowRow
from tmuxclaude.controller.commands import Commands
from tmuxclaude.controller.ports import NvimPort, Ports
from tmuxclaude.controller.runtime import Runtime
from tmuxclaude.errors import NvimGone, TmuxError, WorktreeError
from tmuxclaude.model.config import Config, IdeConfig
from tmuxclaude.model.hosts import HostConfig
from tmuxclaude.model.instance import Registry
from tmuxclaude.model.processes import TreeStats
from tmuxclaude.protocol.lockfile import LockRecord


@dataclass
class FakeWindow:
    session: str
    panes: list[str]
    options: dict[str, str] = field(default_factory=dict)


class FakeTmux:
    """One tmux server: windows with panes and ``@tmuxclaude_*`` options; can be killed and started again."""

    def __init__(self) -> None:
        self.up = True
        self.generation = 1
        self.wins: dict[str, FakeWindow] = {}
        self.dead: set[str] = set()
        self.respawned: list[tuple[str, list[str]]] = []
        """(pane, argv) of every Claude started: window creation and respawns."""
        self.messages: list[str] = []
        self.fail_create: Exception | None = None
        self.fail_kill: set[str] = set()
        self.global_options: dict[str, str] = {}
        self.shell_paths: dict[str, str] = {}
        """Panes that are not ours, by the directory they are in (a test sets it)."""
        self.activity: dict[str, float] = {}
        """When each window last showed output (a test sets it)."""
        self.screens: dict[str, list[str]] = {}
        """What ``capture`` shows of a pane (a test sets it)."""
        self._n = 0

    # -- test controls ----------------------------------------------------------------------------------
    def kill_server(self) -> None:
        self.up = False
        self.wins.clear()

    def start_server(self) -> None:
        self.up = True
        self.generation += 1

    def close_window(self, window: str) -> None:
        self.wins.pop(window, None)

    def tagged(self) -> dict[str, str]:
        return {w: win.options.get("id", "") for w, win in self.wins.items()}

    def _window_of(self, pane: str) -> str | None:
        return next((w for w, win in self.wins.items() if pane in win.panes or pane == w), None)

    def _new_pane(self) -> str:
        self._n += 1
        return f"%{self._n}"

    # -- TmuxPort ---------------------------------------------------------------------------------------
    def run(self, *args: str, check: bool = True) -> list[str]:
        return []

    def alive(self) -> bool:
        return self.up

    def server_id(self) -> str:
        return f"{1000 + self.generation}:{self.generation}" if self.up else ""

    def pane_info(self, pane: str) -> dict[str, str] | None:
        window = self._window_of(pane)
        if window is None:
            return None
        return {"session_id": self.wins[window].session, "window_id": window, "pane_id": pane, "pane_pid": "1",
                "cwd": "/"}  # fmt: skip

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
        if self.fail_create is not None:
            raise self.fail_create
        self.up = True  # like tmux, creating the first session starts the server
        self._n += 1
        window = f"@{self._n}"
        panes = [self._new_pane(), self._new_pane()]
        self.wins[window] = FakeWindow(session or "$0", panes, dict(options))
        self.respawned.append((panes[1], list(claude_cmd)))
        return InstanceWindow(session or "$0", window, panes[0], panes[1])

    def split(self, pane: str, *, cwd: str, cmd: Sequence[str]) -> str:
        window = self._window_of(pane)
        assert window is not None
        new = self._new_pane()
        self.wins[window].panes.append(new)
        return new

    def set_window_options(self, window: str, options: Mapping[str, str], *, check: bool = True) -> None:
        if window in self.wins:
            self.wins[window].options.update(options)
        elif check:
            raise TmuxError(f"no window {window}")

    def untag_window(self, window: str) -> None:
        if window in self.wins:
            self.wins[window].options.clear()

    def respawn(self, pane: str, *, cwd: str, cmd: Sequence[str]) -> None:
        self.respawned.append((pane, list(cmd)))

    def pane_paths(self) -> dict[str, str]:
        return dict(self.shell_paths)

    def window_options(self, window: str) -> dict[str, str]:
        return dict(self.wins[window].options) if window in self.wins else {}

    def window_panes(self, window: str) -> list[str]:
        return list(self.wins[window].panes) if window in self.wins else []

    def window_activity(self) -> dict[str, float]:
        return dict(self.activity)

    def windows(self) -> list[WindowRow]:
        return [WindowRow(w.session, wid, False, False, w.options.get("id", "")) for wid, w in self.wins.items()]

    def panes(self) -> dict[str, dict[str, str]]:
        return {p: {"window_id": wid, "pid": "1", "dead": "1" if p in self.dead else "0"}
                for wid, w in self.wins.items() for p in w.panes}  # fmt: skip

    def kill_window(self, window: str) -> bool:
        if window in self.fail_kill:
            raise TmuxError(f"tmux kill-window: cannot kill {window}")
        return self.wins.pop(window, None) is not None

    def kill_pane(self, pane: str) -> bool:
        window = self._window_of(pane)
        if window is None:
            return False
        self.wins[window].panes.remove(pane)
        return True

    def select(self, window: str, pane: str | None = None, client_pane: str | None = None) -> None:
        pass

    def message_clients(self, text: str, *, seconds: float = 0) -> None:
        self.messages.append(text)

    def show_message(self, pane: str, text: str) -> None:
        self.messages.append(text)

    def pane_tty(self, pane: str) -> str:
        return ""

    def set_global_option(self, name: str, value: str) -> None:
        self.global_options[name] = value

    def capture(self, pane: str, *, history: int) -> tuple[list[str], int]:
        return list(self.screens.get(pane, [])), 80


class FakeGit:
    """Worktrees as directories under a temp dir; the repo is ``<root>/repo``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = root / "repo"
        self.repo.mkdir(parents=True, exist_ok=True)
        self.pruned: list[str] = []
        self.unsafe: dict[str, list[str]] = {}

    def info(self, path: Path, branch: str) -> WorktreeInfo:
        return WorktreeInfo(root=str(path), branch=branch, main_root=str(self.repo), repo_name="repo",
                            is_main=path == self.repo)  # fmt: skip

    def resolve_worktree(self, path: str) -> WorktreeInfo:
        p = Path(path)
        if not p.is_dir():
            raise WorktreeError(f"no such path: {p}")
        return self.info(p, "main" if p == self.repo else p.name)

    def worktree_location(self, template: str, info: WorktreeInfo, branch: str) -> Path:
        return self.root / f"repo-{branch}"

    def create_worktree(self, info: WorktreeInfo, branch: str, *, base: str | None, location: Path) -> WorktreeInfo:
        location.mkdir()
        return self.info(location, branch)

    def worktree_for_branch(self, info: WorktreeInfo, branch: str) -> str | None:
        path = self.root / f"repo-{branch}"
        return str(path) if path.is_dir() else None

    def unsafe_reasons(self, path: str) -> list[str]:
        if not os.path.isdir(path):
            raise WorktreeError(f"not a git repository: {path}")
        return self.unsafe.get(path, [])

    def remove_worktree(self, path: str, *, force: bool) -> None:
        os.rmdir(path)

    def prune_worktrees(self, repo_root: str) -> None:
        self.pruned.append(repo_root)


class FakeLocks:
    def __init__(self) -> None:
        self.files: dict[int, dict[str, Any]] = {}
        self.fail_remove: set[int] = set()
        self.fail_write: set[int] = set()

    def file_for(self, port: int) -> Path:
        return Path(f"/nonexistent/ide/{port}.lock")

    def write(self, port: int, record: LockRecord) -> Path:
        if port in self.fail_write:
            raise OSError(errno.ENOSPC, f"cannot write lock {port}")
        self.files[port] = record.to_dict()
        return self.file_for(port)

    def remove(self, port: int) -> bool:
        if port in self.fail_remove:
            raise OSError(errno.EACCES, f"cannot remove lock {port}")
        return self.files.pop(port, None) is not None

    def ports(self) -> set[int]:
        return set(self.files)

    def read_raw(self, port: int) -> dict[str, Any] | None:
        return self.files.get(port)

    def ours(self) -> dict[int, dict[str, Any]]:
        return {p: d for p, d in self.files.items() if d.get("instanceId")}


class FakeState:
    def __init__(self) -> None:
        self.data: dict[str, Any] | None = None
        self.saves = 0

    def load(self) -> Registry:
        return Registry.from_dict(self.data) if self.data else Registry()

    def save(self, registry: Registry) -> None:
        self.data = registry.to_dict()
        self.saves += 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


@dataclass
class FakeListener:
    port: int
    closed: bool = False

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def close(self) -> None:
        self.closed = True


class FakeNet:
    """Port reservations: ``taken`` are held by someone else; every listener handed out is kept."""

    def __init__(self) -> None:
        self.taken: set[int] = set()
        self.listeners: list[FakeListener] = []
        self.unkept: set[int] = set()
        self.released: list[int] = []

    def _listen(self, port: int) -> FakeListener:
        live = {lst.port for lst in self.listeners if not lst.closed}
        if port in self.taken or port in live:
            raise OSError(errno.EADDRINUSE, f"port {port} in use")
        listener = FakeListener(port)
        self.listeners.append(listener)
        return listener

    def bind_port(self, port: int) -> FakeListener:
        return self._listen(port)

    def kept(self, port: int) -> bool:
        """A port keeper held every port (unless a test says it lost one)."""
        return port not in self.unkept

    def release(self, port: int) -> None:
        self.released.append(port)

    def bind_free_port(self, low: int, high: int, skip: set[int]) -> FakeListener:
        live = {lst.port for lst in self.listeners if not lst.closed}
        for port in range(low, high + 1):
            if port not in skip and port not in self.taken and port not in live:
                return self._listen(port)
        raise OSError(errno.EADDRINUSE, "no free port")


class FakeServer:
    """An IDE server that serves nothing; records what it was told."""

    def __init__(self, instance_id: str, token: str, config: IdeConfig) -> None:
        self.instance_id = instance_id
        self.token = token
        self.on_http: Any = None
        self.port = 0
        self.nvim: Any = None
        self.connects = 0
        self.refused: dict[str, int] = {}
        self.tool_log: list[str] = []
        self.closed = False
        self.listener: Any = None
        self.mentions: list[tuple[str, int | None, int | None]] = []

    @property
    def clients(self) -> int:
        return 0

    async def start(self, sock: Any) -> None:
        self.listener = sock
        self.port = sock.getsockname()[1]

    async def close(self) -> None:
        self.closed = True
        if self.listener is not None:
            self.listener.close()

    def set_nvim(self, nvim: Any) -> None:
        self.nvim = nvim

    def nvim_lost(self) -> None:
        self.nvim = None

    def push_selection(self, event: dict[str, Any]) -> None:
        pass

    def push_mention(self, file_path: str, line_start: int | None, line_end: int | None) -> None:
        self.mentions.append((file_path, line_start, line_end))

    def diff_event(self, event: dict[str, Any]) -> None:
        pass

    def client_pids(self) -> list[int]:
        return []


class NoNeovim:
    """A connector to Neovims that never listen (tests/controller/nvim_fakes.py has one that attaches)."""

    async def attach(self, address: str, **kwargs: Any) -> NvimPort:
        raise NvimGone(f"cannot connect to Neovim at {address}: nothing listens (fake)")


def wire_commands(rt: Runtime) -> Commands:
    """The command table, its entry points handed to the runtime as the controller does (controller/daemon.py)."""
    commands = Commands(rt, reload_config=lambda: None, stop=lambda: None)
    rt.dispatch, rt.nvim_dispatch = commands.dispatch, commands.from_nvim
    return commands


def pane_env(runtime_dir: Path, instance_id: str) -> dict[str, str]:
    """The environment the Claude pane's launcher was handed (adapters/launcher.py's env file)."""
    data = (runtime_dir / f"{instance_id}.claude.env").read_bytes()
    return dict(rec.decode().split("=", 1) for rec in data.split(b"\0") if rec)


class FakePaneText:
    """Panes as text (``PaneTextPort``): what each shows (``screens``), what was pasted into each (``pasted``)."""

    def __init__(self) -> None:
        self.screens: dict[str, str] = {}
        self.pasted: list[tuple[str, str]] = []
        self.captures = 0
        self.fail_paste: Exception | None = None

    def resolve_pane(self, ref: str) -> str:
        if ref not in self.screens:
            raise TmuxError(f"no tmux pane {ref!r} on this server")
        return ref

    def capture_pane(self, pane_id: str, *, max_lines: int, max_bytes: int) -> tuple[str, int]:
        lines = self.capture_screen(pane_id).rstrip("\n").splitlines()[-max_lines:]
        return "".join(line + "\n" for line in lines)[:max_bytes], len(lines)

    def list_panes(self) -> list[dict[str, str]]:
        return [{"id": p, "target": f"s:0.{n}", "command": "sh", "window": "w"} for n, p in enumerate(self.screens)]

    def capture_screen(self, pane_id: str) -> str:
        self.captures += 1
        if pane_id not in self.screens:
            raise TmuxError(f"tmux capture-pane: can't find pane: {pane_id}")
        return self.screens[pane_id]

    def paste_prompt(self, pane_id: str, text: str) -> None:
        if self.fail_paste is not None:
            raise self.fail_paste
        self.pasted.append((pane_id, text))


class FakeRemoteWindows:
    """Windows showing a remote instance (``RemoteWindowsPort``), kept in the FakeTmux's windows (so its
    ``kill_window`` closes them): options ``remote`` (the label) and ``glyph``; ``commands`` the argv of each."""

    def __init__(self, tmux: FakeTmux) -> None:
        self.tmux = tmux
        self.commands: dict[str, list[str]] = {}
        self.ttys: list[str] = []

    def first_session(self) -> str:
        return next((w.session for w in self.tmux.wins.values()), "")

    def create_view(self, session: str, label: str, cmd: Sequence[str], *, glyph: str) -> str:
        window = f"@{self.tmux._new_pane()[1:]}"
        self.tmux.wins[window] = FakeWindow(session or "$0", [self.tmux._new_pane()], {"remote": label, "glyph": glyph})
        self.commands[window] = list(cmd)
        return window

    def views(self) -> list[tuple[str, str]]:
        return [(w, win.options["remote"]) for w, win in self.tmux.wins.items() if win.options.get("remote")]

    def view_of_pane(self, pane: str) -> str:
        window = self.tmux._window_of(pane)
        return self.tmux.wins[window].options.get("remote", "") if window else ""

    def set_glyph(self, window: str, glyph: str) -> None:
        if window in self.tmux.wins:
            self.tmux.wins[window].options["glyph"] = glyph

    def client_ttys(self) -> list[str]:
        return list(self.ttys)


@dataclass
class FakeAnswer:
    returncode: int
    stdout: str
    stderr: str = ""


class FakeSsh:
    """One host's ssh link (``SshLinkPort``): records the remote lines it ran; answers ``answer``."""

    def __init__(self, host: HostConfig) -> None:
        self.host = host
        self.ran: list[str] = []
        self.answer = FakeAnswer(0, "")

    def start_master(self) -> None:
        pass

    def exit_master(self) -> None:
        pass

    def command_argv(self, remote_line: str, *, tty: bool = False) -> list[str]:
        return ["ssh", "-t" if tty else "-T", "--", self.host.ssh, remote_line]

    async def run_async(self, remote_line: str, *, timeout: float) -> FakeAnswer:
        self.ran.append(remote_line)
        return self.answer


class FakeSshHosts:
    """The ``SshConnector``: one FakeSsh per host name, kept for the test to look at."""

    def __init__(self) -> None:
        self.links: dict[str, FakeSsh] = {}

    def __call__(self, host: HostConfig) -> FakeSsh:
        return self.links.setdefault(host.name, FakeSsh(host))


class FakeProcesses:
    """Processes (``ProcessPort``): ``parents`` maps a pid to its parent's; ``alive`` the live pids."""

    def __init__(self) -> None:
        self.parents: dict[int, int] = {}
        self.alive: set[int] = set()
        self.ended: list[int] = []
        self.stubborn: set[int] = set()
        """Pids that outlive ``end_process``."""

    def pid_alive(self, pid: int | None) -> bool:
        return pid in self.alive

    def pane_of(self, pid: int, pane_pids: dict[int, str]) -> str:
        for _ in range(32):
            if pid in pane_pids:
                return pane_pids[pid]
            if pid not in self.parents:
                return ""
            pid = self.parents[pid]
        return ""

    def has_children(self, pid: int) -> bool | None:
        return any(parent == pid for parent in self.parents.values()) if pid in self.alive else None

    def tree_stats(self, pids: list[int], interval_cache: dict[int, Any] | None = None) -> TreeStats:
        return TreeStats(rss_mb=0.0, cpu_percent=0.0, processes=len(pids))

    def end_process(self, pid: int, timeout: float = 5.0) -> bool:
        self.ended.append(pid)
        if pid in self.stubborn:
            return False
        self.alive.discard(pid)
        return True


class FakeClaudeSessions:
    """Claude Code's session files and CLI (``ClaudeSessionsPort``), in memory."""

    def __init__(self) -> None:
        self.config_dir = Path("/nonexistent/claude-config")
        self.agents: list[Any] | None = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self.session_files: list[Any] = []
        self.conversations: set[str] = set()
        self.parents: dict[str, str] = {}
        self.stopped: list[str] = []
        self.with_worktrees: set[str] = set()

    def claude_config_dir(self, env: dict[str, str] | None = None) -> Path:
        return self.config_dir

    def list_agents(self, command: Sequence[str], env: Mapping[str, str], timeout: float = 3.0) -> list[Any] | None:
        return self.agents

    def read_job(self, config_dir: Path, job_id: str) -> dict[str, Any]:
        return self.jobs.get(job_id, {})

    def read_session_files(self, config_dir: Path, limit: int = 200) -> list[Any]:
        return self.session_files[:limit]

    def conversation_exists(self, config_dir: Path, session_id: str) -> bool:
        return session_id in self.conversations

    def parent_session_of(self, config_dir: Path, job_id: str) -> str:
        return self.parents.get(job_id, "")

    def stop_job(self, command: Sequence[str], env: Mapping[str, str], job_id: str, timeout: float = 10.0) -> bool:
        self.stopped.append(job_id)
        return True

    def has_claude_worktrees(self, root: str) -> bool:
        return root in self.with_worktrees


@dataclass
class World:
    rt: Runtime
    tmux: FakeTmux
    git: FakeGit
    locks: FakeLocks
    state: FakeState
    clock: FakeClock
    net: FakeNet
    root: Path
    pane_text: FakePaneText
    remote_windows: FakeRemoteWindows
    ssh: FakeSshHosts

    def fake_claude_io(self) -> tuple[FakeProcesses, FakeClaudeSessions]:
        """Fakes for processes and Claude's sessions in place of the real ones (which the promotion tests drive
        with a stand-in ``claude`` script and real files)."""
        procs, sessions = FakeProcesses(), FakeClaudeSessions()
        self.rt.ports = replace(self.rt.ports, processes=procs, claude_sessions=sessions)
        return procs, sessions


def make_world(root: Path, config: Config | None = None, *, tmux: FakeTmux | None = None) -> World:
    """A runtime over fakes; ``tmux``: the tmux server of an earlier world (a controller started again)."""
    tmux = tmux if tmux is not None else FakeTmux()
    git, locks, state, clock, net = FakeGit(root), FakeLocks(), FakeState(), FakeClock(), FakeNet()
    paths = Paths(tmux_socket="/nonexistent/tmux.sock", runtime_dir=root / "run", state_dir=root / "state",
                  lock_dir=root / "ide")  # fmt: skip
    pane_text, remote_windows, ssh = FakePaneText(), FakeRemoteWindows(tmux), FakeSshHosts()
    ports = Ports(paths=paths, tmux=tmux, git=git, locks=locks, state=state, net=net, clock=clock,
                  claude_cli=LocalClaudeCli(), ide=FakeServer, nvim=NoNeovim(), processes=procs, files=LocalFiles(),
                  claude_sessions=claude_sessions, launcher=PaneLauncher(), pane_text=pane_text, ssh=ssh,
                  remote_windows=remote_windows, formatter=resolve_formatter)  # fmt: skip
    rt = Runtime(config or Config(), ports)
    return World(rt, tmux, git, locks, state, clock, net, root, pane_text, remote_windows, ssh)

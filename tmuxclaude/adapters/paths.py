"""Where things live: tmux socket, control socket, state, logs, config, Claude's lock dir.

Stdlib only: the CLI's fast path imports this, and keybindings run the CLI.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Paths", "claude_config_dir", "config_path", "ensure_private_dir", "tmux_socket_path"]


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def tmux_socket_path(env: dict[str, str] | None = None) -> str:
    """The tmux server this invocation belongs to.

    Inside tmux, $TMUX names it ("socket,pid,session"). Outside, TMUXCLAUDE_TMUX_SOCKET wins, else tmux's own
    default: $TMUX_TMPDIR (or /tmp)/tmux-UID/default.
    """
    env = os.environ if env is None else env  # type: ignore[assignment]
    assert env is not None
    tmux = env.get("TMUX", "")
    if tmux:
        return tmux.split(",", 1)[0]
    explicit = env.get("TMUXCLAUDE_TMUX_SOCKET", "")
    if explicit:
        return explicit
    base = env.get("TMUX_TMPDIR") or "/tmp"
    return str(Path(base) / f"tmux-{os.getuid()}" / "default")


def claude_config_dir(env: dict[str, str] | None = None) -> Path:
    """Claude Code's config home: $CLAUDE_CONFIG_DIR when set and non-empty, else ~/.claude."""
    env = os.environ if env is None else env  # type: ignore[assignment]
    assert env is not None
    value = env.get("CLAUDE_CONFIG_DIR", "")
    return Path(value) if value else _home() / ".claude"


def config_path() -> Path:
    explicit = os.environ.get("TMUXCLAUDE_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(_home() / ".config")
    return Path(base) / "tmuxclaude" / "config.toml"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` 0700, and tighten it if it already existed looser (lock dirs hold secrets)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


@dataclass(frozen=True)
class Paths:
    tmux_socket: str
    runtime_dir: Path
    state_dir: Path
    lock_dir: Path

    @classmethod
    def current(cls, tmux_socket: str | None = None) -> Paths:
        socket = tmux_socket or tmux_socket_path()
        # One controller per tmux server: everything it owns is keyed by the server's socket path.
        key = hashlib.sha256(os.path.realpath(socket).encode()).hexdigest()[:12]
        runtime_base = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/tmuxclaude-{os.getuid()}"
        state_base = os.environ.get("XDG_STATE_HOME") or str(_home() / ".local" / "state")
        return cls(
            tmux_socket=socket,
            runtime_dir=Path(runtime_base) / "tmuxclaude" / key,
            state_dir=Path(state_base) / "tmuxclaude" / key,
            lock_dir=claude_config_dir() / "ide",
        )

    @property
    def control_socket(self) -> Path:
        return self.runtime_dir / "ctl.sock"

    @property
    def pid_file(self) -> Path:
        return self.runtime_dir / "controller.pid"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "controller.log"

    def nvim_socket(self, instance_id: str) -> Path:
        return self.runtime_dir / f"{instance_id}.nvim.sock"

    def settings_file(self, instance_id: str) -> Path:
        return self.runtime_dir / f"{instance_id}.settings.json"

    def hook_token_file(self, instance_id: str) -> Path:
        return self.runtime_dir / f"{instance_id}.hooktoken"

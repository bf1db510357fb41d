"""Where things live: tmux socket, control socket, state, logs, config, Claude's lock dir.

Stdlib only: the CLI's fast path imports this, and keybindings run the CLI.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from tmuxclaude.errors import InsecurePathError

__all__ = [
    "Paths",
    "check_private_dir",
    "check_private_socket",
    "claude_config_dir",
    "config_path",
    "ensure_private_dir",
    "tmux_socket_path",
]


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


def _check_base(base: Path) -> None:
    """The directory our private chain hangs from (/tmp, $XDG_RUNTIME_DIR, ~/.local/state, ~/.claude).

    It may be a symlink (dotfiles) but must belong to us or root, and if others may write in it, it must be
    sticky (like /tmp) so that nobody else can rename or replace what we create there.
    """
    try:
        st = os.stat(base)
    except OSError as exc:
        raise InsecurePathError(f"cannot use {base}: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise InsecurePathError(f"{base} is not a directory; refusing to use it")
    if st.st_uid not in (os.getuid(), 0):
        raise InsecurePathError(f"{base} is owned by uid {st.st_uid}, not by you; refusing to use it")
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        raise InsecurePathError(f"{base} is writable by others and not sticky; refusing to use it")


def _check_own_dir(path: Path, st: os.stat_result) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise InsecurePathError(f"{path} is a symlink; refusing to use it (remove it and retry)")
    if not stat.S_ISDIR(st.st_mode):
        raise InsecurePathError(f"{path} is not a directory; refusing to use it")
    if st.st_uid != os.getuid():
        raise InsecurePathError(f"{path} is owned by uid {st.st_uid}, not by you; refusing to use it")
    if st.st_mode & 0o022:
        # Someone else could have put files in it: what is there cannot be trusted.
        raise InsecurePathError(f"{path} is writable by others (mode {stat.S_IMODE(st.st_mode):04o}); refusing it")


def _chain(path: Path, root: Path | None) -> list[Path]:
    """``root`` and every directory from it down to ``path`` (just ``path`` without a root)."""
    top = root if root is not None else path
    rel = path.relative_to(top)
    chain = [top]
    for part in rel.parts:
        chain.append(chain[-1] / part)
    return chain


def ensure_private_dir(path: Path, root: Path | None = None) -> Path:
    """Create ``path`` (and every directory from ``root`` down to it) 0700, or check what is already there.

    Each component is lstat-ed: it must be a real directory (not a symlink), owned by the running uid and not
    writable by anyone else; one that is only readable by others is tightened to 0700 (it is ours). Anything
    else raises InsecurePathError naming the path: another local user could have made it to read our secrets or
    to plant a socket or settings file we would trust. ``root.parent`` (/tmp, $XDG_RUNTIME_DIR, ...) is only
    required to be ours or root's, and sticky if others may write in it.
    """
    chain = _chain(path, root)
    base = chain[0].parent
    if not base.exists():
        base.mkdir(parents=True, exist_ok=True)
    _check_base(base)
    for component in chain:
        try:
            os.mkdir(component, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise InsecurePathError(f"cannot create {component}: {exc.strerror}") from None
        st = os.lstat(component)
        _check_own_dir(component, st)
        if st.st_mode & 0o077:
            os.chmod(component, 0o700)
    return path


def check_private_dir(path: Path, root: Path | None = None) -> bool:
    """The CLI's side: False when ``path`` does not exist yet (nothing to connect to), True when every component
    from ``root`` down is ours alone; InsecurePathError otherwise. Creates nothing."""
    chain = _chain(path, root)
    for component in chain:
        try:
            st = os.lstat(component)
        except FileNotFoundError:
            return False
        _check_own_dir(component, st)
    return True


def check_private_socket(path: Path) -> None:
    """A socket we are about to connect to: a real socket (no symlink) owned by us, else InsecurePathError.
    A missing one raises FileNotFoundError (nothing serves there)."""
    st = os.lstat(path)
    if not stat.S_ISSOCK(st.st_mode):
        raise InsecurePathError(f"{path} is not a socket; refusing to connect to it")
    if st.st_uid != os.getuid():
        raise InsecurePathError(f"{path} is owned by uid {st.st_uid}, not by you; refusing to connect to it")


@dataclass(frozen=True)
class Paths:
    tmux_socket: str
    runtime_dir: Path
    state_dir: Path
    lock_dir: Path
    runtime_root: Path | None = None
    """Top of the private chain holding ``runtime_dir``: every directory from here down must be ours alone."""
    state_root: Path | None = None

    @classmethod
    def current(cls, tmux_socket: str | None = None) -> Paths:
        socket = tmux_socket or tmux_socket_path()
        # One controller per tmux server: everything it owns is keyed by the server's socket path.
        key = hashlib.sha256(os.path.realpath(socket).encode()).hexdigest()[:12]
        xdg_runtime = os.environ.get("XDG_RUNTIME_DIR")
        if xdg_runtime:
            runtime_root = Path(xdg_runtime) / "tmuxclaude"
            runtime_dir = runtime_root / key
        else:
            # No per-user runtime dir (ssh without pam_systemd, containers, cron): a dir of our own in the shared
            # temp dir, checked like tmux checks /tmp/tmux-UID (TMUX_TMPDIR moves both).
            runtime_root = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmuxclaude-{os.getuid()}"
            runtime_dir = runtime_root / "tmuxclaude" / key
        state_root = Path(os.environ.get("XDG_STATE_HOME") or str(_home() / ".local" / "state")) / "tmuxclaude"
        return cls(
            tmux_socket=socket,
            runtime_dir=runtime_dir,
            state_dir=state_root / key,
            lock_dir=claude_config_dir() / "ide",
            runtime_root=runtime_root,
            state_root=state_root,
        )

    def ensure_runtime_dir(self) -> Path:
        """Create or check the runtime dir (control socket, Neovim sockets, hook files): ours alone, or refuse."""
        return ensure_private_dir(self.runtime_dir, self.runtime_root)

    def ensure_state_dir(self) -> Path:
        return ensure_private_dir(self.state_dir, self.state_root)

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

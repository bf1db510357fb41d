"""One exception tree for tmuxclaude.

    TmuxClaudeError
    ├── ConfigError            bad or unknown config key / wrong type
    ├── WorktreeError          path is not in a git worktree, worktree cannot be created/removed
    │   └── UnsafeRemovalError uncommitted or unpushed work, removal refused without --force
    ├── InstanceError          unknown instance, limit reached, start failed
    │   └── LimitError         max_instances reached
    ├── PortError              no free port in the configured range
    ├── LockFileError          lock directory not writable, lock file unreadable
    ├── TmuxError              tmux server/window/pane operation failed
    ├── NvimError              Neovim RPC failed
    │   └── NvimGone           the Neovim process or its socket is gone
    ├── ProtocolError          JSON-RPC / MCP error with a code (protocol layer)
    ├── ControllerError        control socket unreachable, daemon failed to start
    ├── InsecurePathError      a dir, socket or file we would use is not ours alone (owner, symlink, mode)
    └── HostError              another host cannot be reached, or its tmuxclaude refused or failed

The CLI turns any TmuxClaudeError into one clear line and an exit code (``exit_code``); the IDE server turns
ProtocolError into a JSON-RPC error response. Nothing else crosses those boundaries.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ControllerError",
    "HostError",
    "InsecurePathError",
    "InstanceError",
    "LimitError",
    "LockFileError",
    "NvimError",
    "NvimGone",
    "PortError",
    "ProtocolError",
    "TmuxClaudeError",
    "TmuxError",
    "UnsafeRemovalError",
    "WorktreeError",
]


class TmuxClaudeError(Exception):
    """Base of every error tmuxclaude raises on purpose."""

    exit_code = 1
    kind = "error"


class ConfigError(TmuxClaudeError):
    exit_code = 3
    kind = "config"


class WorktreeError(TmuxClaudeError):
    exit_code = 4
    kind = "worktree"


class UnsafeRemovalError(WorktreeError):
    exit_code = 5
    kind = "unsafe-removal"


class InstanceError(TmuxClaudeError):
    exit_code = 6
    kind = "instance"


class LimitError(InstanceError):
    exit_code = 7
    kind = "limit"


class PortError(TmuxClaudeError):
    exit_code = 8
    kind = "port"


class LockFileError(TmuxClaudeError):
    exit_code = 9
    kind = "lockfile"


class TmuxError(TmuxClaudeError):
    exit_code = 10
    kind = "tmux"


class NvimError(TmuxClaudeError):
    exit_code = 11
    kind = "nvim"


class NvimGone(NvimError):
    kind = "nvim-gone"


class ProtocolError(TmuxClaudeError):
    """A JSON-RPC level error: ``code`` is the JSON-RPC error code sent to the peer."""

    kind = "protocol"

    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class ControllerError(TmuxClaudeError):
    exit_code = 12
    kind = "controller"


class InsecurePathError(TmuxClaudeError):
    """Another user could control it: refuse rather than trust it (like tmux with /tmp/tmux-UID)."""

    exit_code = 13
    kind = "insecure-path"


class HostError(TmuxClaudeError):
    """A ``[hosts.NAME]`` host: unreachable, or its tmuxclaude answered with an error (the message says which)."""

    exit_code = 14
    kind = "host"


KINDS: dict[str, type[TmuxClaudeError]] = {
    cls.kind: cls
    for cls in (
        TmuxClaudeError,
        ConfigError,
        WorktreeError,
        UnsafeRemovalError,
        InstanceError,
        LimitError,
        PortError,
        LockFileError,
        TmuxError,
        NvimError,
        NvimGone,
        ControllerError,
        InsecurePathError,
        HostError,
    )
}

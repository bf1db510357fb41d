"""The user's configuration: defaults, validation, and the typed view the rest of the code reads.

Parsing is pure: ``Config.from_dict`` takes what ``tomllib`` produced and raises ``ConfigError`` naming the exact
key for an unknown key or a wrong type, so a typo never silently falls back to a default.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from tmuxclaude.errors import ConfigError
from tmuxclaude.model.claude import valid_mode
from tmuxclaude.model.hosts import HostConfig, parse_hosts

__all__ = [
    "ClaudeConfig",
    "CommandsConfig",
    "Config",
    "IdeConfig",
    "LimitsConfig",
    "MultiInstanceConfig",
    "NamingConfig",
    "PortsConfig",
    "StatusConfig",
    "WorktreesConfig",
]


@dataclass(frozen=True)
class MultiInstanceConfig:
    enabled: bool = True
    """False means one instance at a time, like claudecode.nvim."""
    max_instances: int = 5
    auto_start_for_worktree: bool = False
    """Neovim entering a file of another worktree starts (or offers) that worktree's instance."""
    instance_indicator: bool = True
    """Show instance name and state in the tmux status line."""
    cleanup_on_exit: bool = True
    """Closing the instance window (or its Neovim) tears the instance down and removes its lock file."""


@dataclass(frozen=True)
class NamingConfig:
    format: str = "branch"
    """worktree | branch | custom"""
    custom_formatter: str = "{repo}/{branch}"
    """With format = custom: a format string over {repo} {branch} {worktree} {n}, or ``module:function``."""


@dataclass(frozen=True)
class PortsConfig:
    min: int = 10001
    max: int = 10999


@dataclass(frozen=True)
class CommandsConfig:
    claude: list[str] = field(default_factory=lambda: ["claude"])
    """The Claude Code command; extra args follow. Tests substitute a recorder here."""
    claude_env: dict[str, str] = field(default_factory=dict)
    """Extra environment for the Claude pane only (proxies, gateways, Bedrock/Vertex settings)."""
    nvim: list[str] = field(default_factory=lambda: ["nvim"])
    """The Neovim command; tmuxclaude appends ``--listen <socket>``."""
    shell_env: dict[str, str] = field(default_factory=dict)
    """Extra environment for both panes."""


@dataclass(frozen=True)
class ClaudeConfig:
    permission_mode: str = ""
    """The Claude pane's --permission-mode (auto, acceptEdits, manual, ...: passed through). Empty: the user's own
    Claude settings decide, and when they choose nothing either, the mode that asks before each edit (every edit
    opens as a diff in the instance's Neovim)."""


@dataclass(frozen=True)
class WorktreesConfig:
    dir: str = "{parent}/{repo}-{branch}"
    """Where ``tmuxclaude new`` puts a worktree: a template over {parent} (the main worktree's parent dir),
    {repo} and {branch} (with '/' turned into '-')."""
    include: list[str] = field(default_factory=list)
    """Gitignored files copied into a new worktree (``.env`` and the like); ``.worktreeinclude`` adds more."""
    symlink: bool = False
    """Symlink the include files instead of copying them."""
    post_create: str = ""
    """A shell command run in a new worktree with TMUXCLAUDE_NAME/PATH/PORT set."""


@dataclass(frozen=True)
class IdeConfig:
    debounce_ms: int = 100
    settle_ms: int = 500
    """The CLI drops notifications pushed right after its tools/list: hold the first push this long."""
    max_frame_bytes: int = 16 * 1024 * 1024
    ping_interval: float = 30.0
    ping_timeout: float = 60.0


@dataclass(frozen=True)
class LimitsConfig:
    max_rss_mb: int = 0
    """Warn when an instance's process tree uses more (0: off)."""
    idle_minutes: float = 0.0
    """Pause an instance idle this long (0: off)."""
    busy_timeout_s: float = 10.0
    """Clear a 'busy' state whose pane has shown no output this long (an interrupt fires no hook)."""


@dataclass(frozen=True)
class StatusConfig:
    bell_on_waiting: bool = True
    message_on_waiting: bool = True


_SECTIONS: dict[str, type[Any]] = {
    "multi_instance": MultiInstanceConfig,
    "instance_naming": NamingConfig,
    "ports": PortsConfig,
    "commands": CommandsConfig,
    "claude": ClaudeConfig,
    "worktrees": WorktreesConfig,
    "ide": IdeConfig,
    "limits": LimitsConfig,
    "status": StatusConfig,
}


def _check(key: str, value: Any, default: Any) -> Any:
    """Validate one value against the type of its default; the message names the full key."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"config key {key!r}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key {key!r}: expected an integer, got {value!r}")
        if value < 0:
            raise ConfigError(f"config key {key!r}: must not be negative, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"config key {key!r}: expected a number, got {value!r}")
        if not value >= 0:  # also NaN; and inf is no duration
            raise ConfigError(f"config key {key!r}: must be a number of at least 0, got {value!r}")
        if value == float("inf"):
            raise ConfigError(f"config key {key!r}: must be finite, got {value!r}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"config key {key!r}: expected a string, got {value!r}")
        return value
    if isinstance(default, list):
        if isinstance(value, str):
            # "claude --foo" is friendlier to write than ["claude", "--foo"]; split like a shell would.
            import shlex

            value = shlex.split(value)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"config key {key!r}: expected a list of strings, got {value!r}")
        return list(value)
    if isinstance(default, dict):
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise ConfigError(f"config key {key!r}: expected a table of strings, got {value!r}")
        return dict(value)
    raise ConfigError(f"config key {key!r}: unsupported value {value!r}")  # pragma: no cover


@dataclass(frozen=True)
class Config:
    multi_instance: MultiInstanceConfig = field(default_factory=MultiInstanceConfig)
    instance_naming: NamingConfig = field(default_factory=NamingConfig)
    ports: PortsConfig = field(default_factory=PortsConfig)
    commands: CommandsConfig = field(default_factory=CommandsConfig)
    claude: ClaudeConfig = field(default_factory=ClaudeConfig)
    worktrees: WorktreesConfig = field(default_factory=WorktreesConfig)
    ide: IdeConfig = field(default_factory=IdeConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    status: StatusConfig = field(default_factory=StatusConfig)
    hosts: dict[str, HostConfig] = field(default_factory=dict)
    """``[hosts.NAME]`` tables: other machines whose instances join the list (model/hosts.py)."""

    @property
    def effective_max_instances(self) -> int:
        return self.multi_instance.max_instances if self.multi_instance.enabled else 1

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        sections: dict[str, Any] = {}
        for name, value in data.items():
            if name == "hosts":
                sections[name] = parse_hosts(value)
                continue
            section_cls = _SECTIONS.get(name)
            if section_cls is None:
                sections_known = ", ".join(sorted([*_SECTIONS, "hosts"]))
                raise ConfigError(f"unknown config section {name!r} (known: {sections_known})")
            if not isinstance(value, dict):
                raise ConfigError(f"config key {name!r}: expected a table")
            defaults = section_cls()
            known = {f.name for f in fields(section_cls)}
            kwargs: dict[str, Any] = {}
            for key, item in value.items():
                if key not in known:
                    raise ConfigError(f"unknown config key '{name}.{key}' (known: {', '.join(sorted(known))})")
                kwargs[key] = _check(f"{name}.{key}", item, getattr(defaults, key))
            sections[name] = section_cls(**kwargs)
        config = cls(**sections)
        config.validate()
        return config

    def validate(self) -> None:
        naming = self.instance_naming.format
        if naming not in ("worktree", "branch", "custom"):
            raise ConfigError(
                f"config key 'instance_naming.format': expected worktree, branch or custom, got {naming!r}"
            )
        if not (1 <= self.ports.min <= self.ports.max <= 65535):
            raise ConfigError("config keys 'ports.min'/'ports.max': need 1 <= min <= max <= 65535")
        if self.multi_instance.max_instances < 1:
            raise ConfigError("config key 'multi_instance.max_instances': must be at least 1")
        if not self.commands.claude:
            raise ConfigError("config key 'commands.claude': must not be empty")
        mode = self.claude.permission_mode
        if mode and not valid_mode(mode):
            raise ConfigError(
                f"config key 'claude.permission_mode': expected a mode like manual, auto or acceptEdits, got {mode!r}"
            )
        if not self.commands.nvim:
            raise ConfigError("config key 'commands.nvim': must not be empty")
        for section in ("claude_env", "shell_env"):
            for key, value in getattr(self.commands, section).items():
                # The pane launcher exports each NAME=VALUE as one word: NAME must be an identifier.
                if not (key.isidentifier() and key.isascii()):
                    raise ConfigError(f"config key 'commands.{section}': {key!r} is not a valid variable name")
                if "\0" in value:
                    raise ConfigError(f"config key 'commands.{section}.{key}': a value cannot hold a NUL byte")

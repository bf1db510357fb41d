"""What tmuxclaude knows about the Claude Code CLI (pure): versions, the tested range, and permission modes.

The permission-mode rule (issue 10): when the user has made no choice of their own, a Claude pane starts in the
mode that asks before each edit, so every Edit/Write opens as a diff in the instance's Neovim. The user's choice
always wins and is never rewritten: a ``--permission-mode`` (or ``--dangerously-skip-permissions``) in
``[commands] claude``, the tmuxclaude key ``[claude] permission_mode``, or ``permissions.defaultMode`` in any of
Claude's own settings files. Reading those files and finding the CLI's version are the adapter's job
(adapters/claude_cli.py); this module only decides.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "ASK_MODE",
    "ASK_MODE_LEGACY",
    "MANUAL_SINCE",
    "PermissionChoice",
    "SupportedRange",
    "Version",
    "ask_mode_for",
    "choose_permission",
    "parse_version",
    "parse_versions_file",
]

Version = tuple[int, int, int]

ASK_MODE = "manual"
"""The ask-before-edit mode's name since 2.1.332 (the first version tested with it)."""
ASK_MODE_LEGACY = "default"
"""Its name before; 2.1.332 still accepts it, so it is also the answer when the version is unknown."""
MANUAL_SINCE: Version = (2, 1, 332)

_VERSION_RE = re.compile(r"(?<![\d.])(\d+)\.(\d+)\.(\d+)(?![\d])")
_MODE_RE = re.compile(r"^[A-Za-z][A-Za-z_-]{0,31}$")


def parse_version(text: str) -> Version | None:
    """The first ``X.Y.Z`` in ``text`` (``claude --version`` prints ``2.1.332 (Claude Code)``), or None."""
    match = _VERSION_RE.search(text or "")
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def format_version(version: Version) -> str:
    return ".".join(map(str, version))


@dataclass(frozen=True)
class SupportedRange:
    """The tested versions, oldest first (the one file ``tmuxclaude/claude-code-versions``)."""

    versions: tuple[Version, ...]

    @property
    def oldest(self) -> Version:
        return self.versions[0]

    @property
    def current(self) -> Version:
        return self.versions[-1]

    def contains(self, version: Version) -> bool:
        return self.oldest <= version <= self.current

    def describe(self) -> str:
        return f"{format_version(self.oldest)} to {format_version(self.current)}"


def parse_versions_file(text: str) -> SupportedRange:
    """One version a line, ``#`` comments; raises ValueError when a line is not a version or none is given."""
    versions: list[Version] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        version = parse_version(line)
        if version is None or format_version(version) != line:
            raise ValueError(f"line {number}: {line!r} is not a version like 2.1.332")
        versions.append(version)
    if not versions:
        raise ValueError("no version listed")
    if versions != sorted(versions):
        raise ValueError("versions must be listed oldest first")
    return SupportedRange(tuple(versions))


def ask_mode_for(version: Version | None) -> str:
    """The name the given CLI understands for "ask before each edit"."""
    if version is not None and version >= MANUAL_SINCE:
        return ASK_MODE
    return ASK_MODE_LEGACY


@dataclass(frozen=True)
class PermissionChoice:
    """What to add to the Claude command line, and why (the reason goes to the controller log)."""

    args: tuple[str, ...]
    reason: str
    mode: str = ""
    """The mode Claude starts in, when tmuxclaude knows it ("" when the CLI decides from a command it was given)."""
    chosen_by: str = ""
    """Who chose it: ``user`` (command, config key, your own settings), ``managed``, or ``tmuxclaude`` (the
    default that asks before each edit; also when only a repository's project settings chose one)."""


def _command_chooses(command: Sequence[str]) -> str | None:
    for arg in command[1:]:
        if arg == "--permission-mode" or arg.startswith("--permission-mode="):
            return "--permission-mode in [commands] claude"
        if arg in ("--dangerously-skip-permissions", "--allow-dangerously-skip-permissions"):
            return f"{arg} in [commands] claude"
    return None


def valid_mode(mode: str) -> bool:
    """A mode word as the CLI spells them (``auto``, ``acceptEdits``, ...): passed through, never interpreted."""
    return bool(_MODE_RE.match(mode))


def choose_permission(
    command: Sequence[str],
    config_mode: str,
    settings_modes: Iterable[tuple[str, str]],
    version: Version | None,
    *,
    project_files: Collection[str] = (),
    managed_files: Collection[str] = (),
) -> PermissionChoice:
    """Decide the ``--permission-mode`` argument for one Claude pane.

    ``command`` is ``[commands] claude``; ``config_mode`` is ``[claude] permission_mode`` ("" when unset);
    ``settings_modes`` are ``(file, permissions.defaultMode)`` pairs found in Claude's settings, highest
    precedence first; ``project_files`` are those of them a repository provides (its ``.claude/settings.json``
    and ``settings.local.json``), ``managed_files`` the administrator's; ``version`` is the CLI's version when
    known cheaply.

    A repository's project settings never turn off the ask-before-edit default (docs/threat-model.md): a mode
    they choose is overridden on the command line, by your own choice if you made one, else by the ask mode.
    """
    chosen = _command_chooses(command)
    if chosen is not None:
        return PermissionChoice((), f"user's choice: {chosen}", "", "user")
    if config_mode:
        return PermissionChoice(
            ("--permission-mode", config_mode), "user's choice: [claude] permission_mode", config_mode, "user"
        )
    ask = ask_mode_for(version)
    project: tuple[str, str] | None = None
    user: tuple[str, str] | None = None
    for source, mode in settings_modes:
        if not mode:
            continue
        if source in managed_files:
            return PermissionChoice((), f"managed settings' choice: permissions.defaultMode = {mode!r} in {source}",
                                    mode, "managed")  # fmt: skip
        if source in project_files:
            project = project or (source, mode)
        else:
            user = user or (source, mode)
    if project is not None:
        ignored = f"the repository's permissions.defaultMode = {project[1]!r} in {project[0]} is not followed"
        if user is not None and valid_mode(user[1]):
            return PermissionChoice(("--permission-mode", user[1]),
                                    f"user's choice: permissions.defaultMode = {user[1]!r} in {user[0]} ({ignored})",
                                    user[1], "user")  # fmt: skip
        reason = f"tmuxclaude's default: ask before edits ({ask}); {ignored}"
        return PermissionChoice(("--permission-mode", ask), reason, ask, "tmuxclaude")
    if user is not None:
        return PermissionChoice(
            (), f"user's choice: permissions.defaultMode = {user[1]!r} in {user[0]}", user[1], "user"
        )
    known = format_version(version) if version is not None else "unknown version"
    return PermissionChoice(("--permission-mode", ask), f"tmuxclaude's default: ask before edits ({ask}, {known})",
                            ask, "tmuxclaude")  # fmt: skip

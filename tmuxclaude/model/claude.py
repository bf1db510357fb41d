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
    "INTERRUPT_HOOK_SINCE",
    "MANUAL_SINCE",
    "PermissionChoice",
    "SupportedRange",
    "Version",
    "ask_mode_for",
    "choose_permission",
    "format_version",
    "parse_version",
    "parse_versions_file",
    "upgrade_note",
]

Version = tuple[int, int, int]

ASK_MODE = "manual"
"""The ask-before-edit mode's name since 2.1.332 (the first version tested with it)."""
ASK_MODE_LEGACY = "default"
"""Its name before; 2.1.332 still accepts it, so it is also the answer when the version is unknown."""
MANUAL_SINCE: Version = (2, 1, 332)
INTERRUPT_HOOK_SINCE: Version = (2, 1, 335)
"""The first CLI that knows the ``Interrupt`` hook event; older ones stop at start-up on a "Settings Warning"
dialog when a settings file names an event they do not know, so it is registered only from this version on."""

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


NPM_PACKAGE = "@anthropic-ai/claude-code"
"""The npm package of Claude Code itself (to 2.1.332); later native builds come as platform binary packages."""

_PACKAGE_RE = re.compile(r"^(@[a-z0-9][a-z0-9._-]*/[a-z0-9{}][a-z0-9._{}-]*)@(\d+\.\d+\.\d+)$")


@dataclass(frozen=True)
class SupportedRange:
    """The tested versions, oldest first (the one file ``tmuxclaude/claude-code-versions``), and for each the npm
    package that ships it (``(name, package version)``; ``name`` may hold ``{platform}``)."""

    versions: tuple[Version, ...]
    packages: tuple[tuple[str, str], ...] = ()

    def version_of_package(self, name: str, package_version: str) -> Version | None:
        """The Claude Code version an installed package holds: its own version for Claude Code's package, the
        listed version for a platform binary package (``{platform}`` matches any platform suffix)."""
        if name == NPM_PACKAGE:
            return parse_version(package_version)
        for version, (listed, listed_version) in zip(self.versions, self.packages, strict=False):
            if listed_version != package_version:
                continue
            head, placeholder, tail = listed.partition("{platform}")
            if name == listed or (placeholder and name.startswith(head) and name.endswith(tail)
                                  and len(name) > len(head) + len(tail)):  # fmt: skip
                return version
        return None

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
    """One version a line, optionally followed by the npm package that ships it (``name@version``), ``#``
    comments; raises ValueError when a line is not a version (and package) or none is given."""
    versions: list[Version] = []
    packages: list[tuple[str, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        fields = raw.split("#", 1)[0].split()
        if not fields:
            continue
        line = fields[0]
        version = parse_version(line)
        if version is None or format_version(version) != line or len(fields) > 2:
            raise ValueError(f"line {number}: {raw.strip()!r} is not a version like 2.1.332 (and a package)")
        if len(fields) == 2:
            match = _PACKAGE_RE.match(fields[1])
            if match is None:
                raise ValueError(f"line {number}: {fields[1]!r} is not an npm package like @scope/name@1.2.3")
            packages.append((match.group(1), match.group(2)))
        else:
            packages.append((NPM_PACKAGE, line))
        versions.append(version)
    if not versions:
        raise ValueError("no version listed")
    if versions != sorted(versions):
        raise ValueError("versions must be listed oldest first")
    return SupportedRange(tuple(versions), tuple(packages))


def upgrade_note(version: Version, tested: SupportedRange) -> str:
    """What a CLI in the tested range misses against the current one ("" when nothing): the npm package
    ``@anthropic-ai/claude-code`` stops at 2.1.332, while the native installer runs newer builds."""
    if version >= INTERRUPT_HOOK_SINCE or tested.current < INTERRUPT_HOOK_SINCE:
        return ""
    return (
        f"; the npm package {NPM_PACKAGE} ends at 2.1.332, the native installer runs {format_version(tested.current)}"
        ", whose Interrupt hook shows an interrupted turn as idle at once (here: after limits.busy_timeout_s)"
    )


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

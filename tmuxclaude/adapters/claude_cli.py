"""The Claude Code CLI as tmuxclaude sees it from outside: its version, the tested range, the user's settings.

Three reads, all bounded:

* ``install_version``: the version from the install layout (npm's ``package.json`` next to the binary, or the native
  installer's ``versions/<X.Y.Z>`` file name). A platform binary package's ``package.json`` names the Agent SDK
  package and its own version: the ``claude-code-version`` file scripts/install-claude writes beside the binary
  says which Claude Code it is, else the versions file's package column maps it. No process is started, so
  starting a pane stays fast; cached per binary (path, size, mtime).
* ``probe_version``: runs ``claude --version`` for ``tmuxclaude doctor``, in its own process group, killed after a
  few seconds: a CLI that does not answer is reported as such, never waited on.
* ``settings_modes``: ``permissions.defaultMode`` from the user's Claude settings files (managed, project local,
  project, user). Repository files are hostile: only regular files, opened non-blocking, size-capped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from tmuxclaude.adapters.filetext import read_regular
from tmuxclaude.adapters.paths import claude_config_dir
from tmuxclaude.errors import ConfigError
from tmuxclaude.model.claude import (
    PermissionChoice,
    SupportedRange,
    Version,
    choose_permission,
    format_version,
    parse_version,
    parse_versions_file,
)
from tmuxclaude.protocol.boundedjson import JsonBoundsError, loads_bounded

__all__ = [
    "MANAGED_SETTINGS",
    "LocalClaudeCli",
    "VersionProbe",
    "communicate_or_kill",
    "install_version",
    "probe_version",
    "settings_modes",
    "supported_range",
]

MANAGED_SETTINGS = Path("/etc/claude-code/managed-settings.json")
_MAX_SETTINGS_BYTES = 1 << 20
VERSION_FILE = "claude-code-version"
"""Written by scripts/install-claude next to a binary whose package does not say which Claude Code it holds."""


def supported_range() -> SupportedRange:
    """The tested versions, from the one file that lists them (package data ``claude-code-versions``)."""
    return parse_versions_file((files("tmuxclaude") / "claude-code-versions").read_text(encoding="utf-8"))


def _which(command: str, env: Mapping[str, str] | None) -> str | None:
    path = (env or os.environ).get("PATH") or os.environ.get("PATH")
    return shutil.which(command, path=path)


_version_cache: dict[tuple[str, int, int], Version | None] = {}


def install_version(command: Sequence[str], env: Mapping[str, str] | None = None) -> Version | None:
    """The CLI's version read from how it is installed, without running it; None when it cannot tell (a wrapper
    script, ``npx``, a test stand-in)."""
    if not command:
        return None
    exe = _which(command[0], env)
    if exe is None:
        return None
    real = os.path.realpath(exe)
    try:
        st = os.stat(real)
    except OSError:
        return None
    key = (real, st.st_size, st.st_mtime_ns)
    if key not in _version_cache:
        del_keys = [k for k in _version_cache if k[0] == real]
        for k in del_keys:
            del _version_cache[k]
        _version_cache[key] = _layout_version(Path(real))
    return _version_cache[key]


def _layout_version(real: Path) -> Version | None:
    # Native installer: ~/.local/share/claude/versions/2.1.332 is the binary itself.
    if real.parent.name == "versions":
        version = parse_version(real.name)
        if version is not None and ".".join(map(str, version)) == real.name:
            return version
    # npm: node_modules/@anthropic-ai/claude-code/{bin/claude.exe,cli.js} next to its package.json; a platform
    # binary package: <package>/claude next to a package.json that names the SDK's platform package.
    for parent in list(real.parents)[:3]:
        data = _read_json(parent / "package.json")
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            continue
        if not isinstance(data.get("version"), str):
            continue
        written = _read_small_text(parent / VERSION_FILE)
        version = parse_version(written) if written else None
        if version is not None and format_version(version) == written.strip():
            return version
        return supported_range().version_of_package(data["name"], data["version"])
    return None


def _read_small_text(path: Path) -> str:
    data = read_regular(path, 64)
    return data.decode("ascii", "replace") if data is not None else ""


def _read_json(path: Path) -> object:
    """A small regular file's JSON, or None. Never blocks on a FIFO or device a hostile repository put there.
    ConfigError naming the file when it is larger than 1 MiB or nested deeper than 64 levels."""
    raw = read_regular(path, _MAX_SETTINGS_BYTES + 1)
    if raw is None:
        return None
    try:
        return loads_bounded(raw, max_bytes=_MAX_SETTINGS_BYTES)
    except JsonBoundsError as exc:
        # A file Claude would read too: say which, in one line, rather than decide without it.
        raise ConfigError(f"{path}: {exc}; tmuxclaude does not read it (fix or remove it)") from None
    except (UnicodeDecodeError, ValueError):
        return None


def settings_files(worktree: str, env: Mapping[str, str] | None = None) -> list[Path]:
    """Claude's settings files that apply in ``worktree``, highest precedence first."""
    user = claude_config_dir(dict(env) if env is not None else None) / "settings.json"
    root = Path(worktree) / ".claude"
    return [MANAGED_SETTINGS, root / "settings.local.json", root / "settings.json", user]


def settings_modes(worktree: str, env: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """``(file, permissions.defaultMode)`` for every settings file that sets one."""
    found = []
    for path in settings_files(worktree, env):
        data = _read_json(path)
        perms = data.get("permissions") if isinstance(data, dict) else None
        mode = perms.get("defaultMode") if isinstance(perms, dict) else None
        if isinstance(mode, str) and mode:
            found.append((str(path), mode))
    return found


@dataclass(frozen=True)
class VersionProbe:
    """What ``claude --version`` did: ``ok`` (with the text), ``not_found``, ``no_answer`` (timed out), ``failed``."""

    status: Literal["ok", "not_found", "no_answer", "failed"]
    command: str
    text: str = ""
    version: Version | None = None


def communicate_or_kill(proc: subprocess.Popen[Any], timeout: float) -> tuple[Any, Any] | None:
    """``proc.communicate()`` within ``timeout``, else None with its whole process group killed: a wrapper's
    children holding our pipes would otherwise keep communicate() waiting (``proc`` needs start_new_session)."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=1.0)
        return None


def probe_version(command: Sequence[str], timeout: float = 3.0, env: Mapping[str, str] | None = None) -> VersionProbe:
    """Run ``command --version``, bounded by ``timeout`` however the CLI (or what it spawns) behaves."""
    name = command[0] if command else "claude"
    exe = _which(name, env)
    if exe is None:
        return VersionProbe("not_found", name)
    try:
        proc = subprocess.Popen(
            [exe, *command[1:], "--version"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
            env=dict(env) if env is not None else None,
        )
    except OSError as exc:
        return VersionProbe("failed", exe, exc.strerror or str(exc))
    answer = communicate_or_kill(proc, timeout)
    if answer is None:
        return VersionProbe("no_answer", exe)
    out, err = answer
    lines = (out or err).strip().splitlines()
    text = lines[0] if lines else ""
    if proc.returncode != 0:
        return VersionProbe("failed", exe, text or f"exit status {proc.returncode}")
    return VersionProbe("ok", exe, text, parse_version(text))


class LocalClaudeCli:
    """The controller's ``ClaudeCliPort`` on this machine: reads the settings files and the install layout at
    every pane start (a few stat calls; the user may change their settings between two starts)."""

    def permission_choice(
        self, command: Sequence[str], config_mode: str, worktree: str, pane_env: Mapping[str, str]
    ) -> PermissionChoice:
        # The pane's environment decides which config dir and PATH the CLI sees.
        env = {**os.environ, **pane_env}
        files = [str(f) for f in settings_files(worktree, env)]
        return choose_permission(
            command, config_mode, settings_modes(worktree, env), install_version(command, env),
            project_files=files[1:3], managed_files=files[:1],
        )  # fmt: skip

    def version(self, command: Sequence[str], pane_env: Mapping[str, str]) -> Version | None:
        return install_version(command, {**os.environ, **pane_env})

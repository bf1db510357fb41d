"""Reading (and stopping) Claude Code's own sessions, from outside: ``claude agents --json`` and the state files
beside it. Blocking: the controller calls these off its event loop.

``claude agents --json`` is the documented list. Two undocumented files fill what it leaves out, each read only
for a session it listed: ``$CLAUDE_CONFIG_DIR/jobs/<id>/state.json`` (a background session's worktree path and
branch, which promotion reuses) and ``jobs/<id>/parent-transcript.jsonl`` (a fork that got no prompt yet has no
conversation of its own: its parent's session id is read there). Every file is read non-blocking, regular files
only, size-capped; every value is validated in model/claude_sessions.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tmuxclaude.adapters.claude_cli import communicate_or_kill
from tmuxclaude.adapters.filetext import read_regular
from tmuxclaude.adapters.paths import claude_config_dir
from tmuxclaude.model.claude_sessions import valid_job_id, valid_session_id

__all__ = [
    "claude_config_dir",
    "conversation_exists",
    "has_claude_worktrees",
    "list_agents",
    "parent_session_of",
    "read_job",
    "read_session_files",
    "stop_job",
]

_MAX_OUTPUT = 4 << 20
_MAX_FILE = 1 << 20
_NEUTRAL_CWD = "/"
"""Where the CLI runs for these calls: never a repository (its settings, hooks or CLAUDE.md must not apply)."""


def _run(command: Sequence[str], args: list[str], env: Mapping[str, str], timeout: float) -> str | None:
    exe = shutil.which(command[0], path=env.get("PATH") or os.environ.get("PATH"))
    if exe is None:
        return None
    try:
        proc = subprocess.Popen(
            [exe, *command[1:], *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=_NEUTRAL_CWD,
            env=dict(env),
            start_new_session=True,
        )
    except OSError:
        return None
    answer = communicate_or_kill(proc, timeout)
    if answer is None:
        return None
    out: bytes = answer[0]
    if proc.returncode != 0 or len(out) > _MAX_OUTPUT:
        return None
    return out.decode("utf-8", "replace")


def list_agents(command: Sequence[str], env: Mapping[str, str], timeout: float = 3.0) -> list[Any] | None:
    """``claude agents --json``: the raw list, or None when the CLI lacks the command, fails or does not answer."""
    text = _run(command, ["agents", "--json"], env, timeout)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, list) else None


def stop_job(command: Sequence[str], env: Mapping[str, str], job_id: str, timeout: float = 10.0) -> bool:
    """``claude stop <id>`` (keeps the session's worktree)."""
    if not valid_job_id(job_id):
        return False
    return _run(command, ["stop", job_id], env, timeout) is not None


def _read_regular(path: Path, limit: int = _MAX_FILE) -> bytes | None:
    return read_regular(path, limit, nofollow=True)


def read_job(config_dir: Path, job_id: str) -> dict[str, Any]:
    """``jobs/<id>/state.json`` of a background session ({} when absent or unreadable)."""
    if not valid_job_id(job_id):
        return {}
    raw = _read_regular(config_dir / "jobs" / job_id / "state.json")
    try:
        data = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def parent_session_of(config_dir: Path, job_id: str) -> str:
    """The parent session id a fork's ``parent-transcript.jsonl`` was copied from ("" when there is none)."""
    if not valid_job_id(job_id):
        return ""
    raw = _read_regular(config_dir / "jobs" / job_id / "parent-transcript.jsonl", 256 << 10)
    for line in (raw or b"").splitlines():
        with contextlib.suppress(UnicodeDecodeError, ValueError):
            entry = json.loads(line.decode("utf-8"))
            sid = entry.get("sessionId") if isinstance(entry, dict) else None
            if valid_session_id(sid):
                return str(sid)
    return ""


def conversation_exists(config_dir: Path, session_id: str) -> bool:
    """Whether Claude keeps a transcript under this session id (``projects/*/<id>.jsonl``): only then does
    ``--resume <id>`` find it."""
    if not valid_session_id(session_id):
        return False
    projects = config_dir / "projects"
    try:
        dirs = list(os.scandir(projects))
    except OSError:
        return False
    for entry in dirs[:5000]:
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False) and (Path(entry.path) / f"{session_id}.jsonl").is_file():
                return True
    return False


def read_session_files(config_dir: Path, limit: int = 200) -> list[Any]:
    """Every ``sessions/<pid>.json`` (one per live CLI process; undocumented): cheap enough for the periodic tick,
    where running ``claude agents`` (a large binary) every few seconds would not be. Raw JSON, unvalidated."""
    try:
        entries = [e for e in os.scandir(config_dir / "sessions") if e.name.endswith(".json")]
    except OSError:
        return []
    found = []
    for entry in entries[:limit]:
        stem = entry.name[: -len(".json")]
        if not stem.isdigit():
            continue
        raw = _read_regular(Path(entry.path), 64 << 10)
        with contextlib.suppress(UnicodeDecodeError, ValueError):
            data = json.loads(raw.decode("utf-8")) if raw else None
            # The file names its own pid: one that disagrees is not trusted.
            if isinstance(data, dict) and data.get("pid") == int(stem) and _alive_and_ours(int(stem)):
                found.append(data)
    return found


def _alive_and_ours(pid: int) -> bool:
    try:
        return os.stat(f"/proc/{pid}").st_uid == os.getuid()
    except OSError:
        return False


def has_claude_worktrees(root: str) -> bool:
    """Whether ``<root>/.claude/worktrees`` holds a directory (``claude --worktree`` sessions' worktrees); a
    symlink there is not followed."""
    try:
        with os.scandir(Path(root) / ".claude" / "worktrees") as it:
            return any(e.is_dir(follow_symlinks=False) for e in it)
    except OSError:
        return False

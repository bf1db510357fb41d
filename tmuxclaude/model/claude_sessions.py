"""Claude Code's own sessions that tmuxclaude did not start (pure): what ``claude agents --json`` and its state files
say, validated, and where each one shows in ``ls --all`` (under an instance, or under its repository).

Everything here comes from another process's files or output: ids must look like ids, paths must be absolute,
names are free text that is shown only after escaping (model/view.py, adapters/tmux.py ``shown``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "CLAUDE_WORKTREES",
    "KINDS",
    "ClaudeSession",
    "branch_for",
    "claude_worktree_of",
    "lock_workspace",
    "merge_forks",
    "parse_agents",
    "parse_session_file",
    "promote_args",
    "valid_job_id",
    "valid_session_id",
]

KINDS = ("interactive", "background", "fork")

_SESSION_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{7,63}")
_JOB_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,63}")
_WORD = re.compile(r"[a-z]{1,16}")
_MAX_NAME = 80


def valid_session_id(value: object) -> bool:
    """A Claude session id (a UUID today): never an option, never a path."""
    return isinstance(value, str) and bool(_SESSION_ID.fullmatch(value))


def valid_job_id(value: object) -> bool:
    return isinstance(value, str) and bool(_JOB_ID.fullmatch(value))


@dataclass(frozen=True)
class ClaudeSession:
    """One session of the user's Claude Code that is not an instance's own."""

    session_id: str
    kind: str
    """``interactive``, ``background`` (``--bg``, or a ``/fork`` child ``claude agents`` lists) or ``fork``
    (a ``/fork`` child known so far only from its SessionStart hook)."""
    cwd: str
    pid: int | None = None
    job_id: str = ""
    name: str = ""
    status: str = ""
    state: str = ""
    started_at: float = 0.0
    worktree_path: str = ""
    worktree_branch: str = ""
    parent_session_id: str = ""
    """A fork's parent conversation (the instance's, when the fork was made in one)."""
    instance_id: str = ""
    """The instance it shows under: the fork's parent, else the instance whose worktree holds its cwd."""
    repo: str = ""
    transcript_only: bool = False
    """Its conversation exists only as the job's ``parent-transcript.jsonl`` (a fork that got no prompt yet)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "kind": self.kind,
            "cwd": self.cwd,
            "pid": self.pid,
            "job_id": self.job_id,
            "name": self.name,
            "status": self.status,
            "state": self.state,
            "worktree_path": self.worktree_path,
            "worktree_branch": self.worktree_branch,
            "parent_session_id": self.parent_session_id,
            "instance_id": self.instance_id,
            "repo": self.repo,
        }


def _text(value: object, limit: int = _MAX_NAME) -> str:
    """Free text from another process: a string, control characters dropped, bounded."""
    if not isinstance(value, str):
        return ""
    return "".join(c for c in value if c.isprintable())[:limit]


def _word(value: object) -> str:
    return value if isinstance(value, str) and _WORD.fullmatch(value) else ""


def _abs_path(value: object) -> str:
    if not isinstance(value, str) or not value.startswith("/") or "\0" in value or len(value) > 4096:
        return ""
    return value


def _started(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        # agents --json gives epoch milliseconds
        return float(value) / 1000.0 if value > 1e11 else float(value)
    return 0.0


def parse_agents(data: object, jobs: Mapping[str, Mapping[str, Any]] | None = None) -> list[ClaudeSession]:
    """``claude agents --json`` (a list of objects), each checked; ``jobs`` adds a background session's
    ``jobs/<id>/state.json`` (its worktree). Entries with a bad id, kind or cwd are dropped."""
    if not isinstance(data, list):
        return []
    found: list[ClaudeSession] = []
    for entry in data[:500]:
        if not isinstance(entry, dict):
            continue
        sid, kind, cwd = entry.get("sessionId"), _word(entry.get("kind")), _abs_path(entry.get("cwd"))
        if not valid_session_id(sid) or kind not in ("interactive", "background") or not cwd:
            continue
        assert isinstance(sid, str)
        pid = entry.get("pid")
        job = entry.get("id")
        job_id = job if isinstance(job, str) and valid_job_id(job) else ""
        state = (jobs or {}).get(job_id, {}) if job_id else {}
        # A /fork child names the conversation it was forked from (undocumented ``forkParentSessionId``).
        parent = state.get("forkParentSessionId")
        parent = parent if isinstance(parent, str) and valid_session_id(parent) and parent != sid else ""
        found.append(
            ClaudeSession(
                session_id=sid,
                kind="fork" if parent else kind,
                parent_session_id=parent,
                cwd=cwd,
                pid=pid if isinstance(pid, int) and not isinstance(pid, bool) and pid > 1 else None,
                job_id=job_id,
                name=_text(entry.get("name")),
                status=_word(entry.get("status")),
                state=_word(entry.get("state")),
                started_at=_started(entry.get("startedAt")),
                worktree_path=_abs_path(state.get("worktreePath")),
                worktree_branch=_text(state.get("worktreeBranch"), 200),
            )
        )
    return found


def merge_forks(
    listed: Iterable[ClaudeSession],
    forks: Iterable[ClaudeSession],
    parents: Mapping[str, tuple[str, str]] | None = None,
) -> list[ClaudeSession]:
    """The listed sessions, each fork recorded from a hook folded into its listed entry (it keeps the parent and
    instance the hook told), and the forks not listed yet (``claude agents`` may lag the hook) added. A listed
    fork the hooks did not tell about goes under the instance whose conversation it was forked from (``parents``:
    session id -> (instance id, repo))."""
    by_id = {f.session_id: f for f in forks}
    merged: list[ClaudeSession] = []
    for s in listed:
        fork = by_id.pop(s.session_id, None)
        if fork is not None:
            s = replace(
                s,
                kind="fork",
                parent_session_id=s.parent_session_id or fork.parent_session_id,
                instance_id=fork.instance_id,
                repo=fork.repo,
            )
        elif s.parent_session_id and s.parent_session_id in (parents or {}):
            instance_id, repo = (parents or {})[s.parent_session_id]
            s = replace(s, instance_id=instance_id, repo=repo)
        merged.append(s)
    merged.extend(by_id.values())
    return merged


def branch_for(session: ClaudeSession) -> str:
    """The branch (and worktree name) a promoted session gets when it has no worktree of its own: its name, made
    a safe ref component, else ``claude-<first 8 of its id>``."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", session.name).strip("-.")[:40].strip("-.")
    if not slug or slug.startswith("-") or ".." in slug or slug.endswith(".lock"):
        slug = f"claude-{session.session_id[:8]}"
    return slug


def promote_args(session: ClaudeSession) -> list[str]:
    """How the promoted instance's Claude continues the session's conversation, options as ``--opt=value``.

    A fork whose conversation so far is only its parent's (no prompt yet): the parent's, forked into the fork's own
    session id; anything else resumes its own session id."""
    if session.transcript_only and session.parent_session_id:
        return [
            f"--resume={session.parent_session_id}",
            "--fork-session",
            f"--session-id={session.session_id}",
        ]
    return [f"--resume={session.session_id}"]


def parse_session_file(data: object) -> ClaudeSession | None:
    """One ``sessions/<pid>.json`` (undocumented: one per live CLI process): an interactive session's pid, id and
    cwd, or None when it is not an interactive session or does not validate."""
    if not isinstance(data, dict) or data.get("kind") != "interactive":
        return None
    sid, cwd, pid = data.get("sessionId"), _abs_path(data.get("cwd")), data.get("pid")
    if not valid_session_id(sid) or not cwd or not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1:
        return None
    assert isinstance(sid, str)
    return ClaudeSession(
        session_id=sid,
        kind="interactive",
        cwd=cwd,
        pid=pid,
        name=_text(data.get("name")),
        status=_word(data.get("status")),
        started_at=_started(data.get("startedAt")),
    )


CLAUDE_WORKTREES = ".claude/worktrees"
"""Where ``claude --worktree NAME`` puts its worktree, under the repository root."""


def claude_worktree_of(cwd: str, repos: Iterable[str]) -> tuple[str, str] | None:
    """``(repo, worktree path)`` when ``cwd`` is inside ``<repo>/.claude/worktrees/NAME`` of one of ``repos``."""
    for repo in repos:
        base = repo.rstrip("/") + "/" + CLAUDE_WORKTREES + "/"
        if cwd.startswith(base):
            name = cwd[len(base) :].split("/", 1)[0]
            if name and name not in (".", ".."):
                return repo, base + name
    return None


def lock_workspace(worktree: str, repo: str, claude_worktrees: bool) -> tuple[str, ...]:
    """The ``workspaceFolders`` of an instance's lock file. The repository root's instance names none while
    ``claude --worktree`` sessions exist under it: a root workspace would be valid for every one of them (with
    ``--ide`` it captures them all, and with two valid locks nothing connects). Its own Claude finds the lock by
    ``CLAUDE_CODE_SSE_PORT``, which skips the workspace check."""
    if claude_worktrees and worktree.rstrip("/") == repo.rstrip("/"):
        return ()
    return (worktree,)

"""Claude Code's own sessions, the pure part: what is taken from `claude agents --json` and the state files (and
what is dropped), where a session shows, how a promoted one resumes, the hooks per CLI version."""

from __future__ import annotations

from tmuxclaude.model.claude_sessions import (
    ClaudeSession,
    branch_for,
    claude_worktree_of,
    lock_workspace,
    merge_forks,
    parse_agents,
    parse_session_file,
    promote_args,
)
from tmuxclaude.model.instance import InstanceState
from tmuxclaude.model.states import HOOK_EVENTS, hook_events, next_state

SID = "dc5151ef-9db8-47fc-91f0-dd0abffa8800"
PARENT = "c947a14c-08af-4ac3-9dfa-b7b900ceaf56"


def test_agents_entries_are_validated() -> None:
    good = {"pid": 4383, "id": "dc5151ef", "cwd": "/p/repo", "kind": "background", "startedAt": 1796433752623,
            "sessionId": SID, "name": "fix\x1b[31m it", "status": "idle", "state": "working"}  # fmt: skip
    bad = [
        good | {"sessionId": "--resume=x"},
        good | {"sessionId": "../../etc"},
        good | {"cwd": "relative/dir"},
        good | {"kind": "daemon"},
        "not an object",
    ]
    jobs = {"dc5151ef": {"worktreePath": "/p/repo/.claude/worktrees/x", "worktreeBranch": "worktree-x"}}
    found = parse_agents([good, *bad], jobs)
    assert len(found) == 1
    s = found[0]
    assert (s.session_id, s.kind, s.job_id, s.pid, s.state) == (SID, "background", "dc5151ef", 4383, "working")
    assert s.name == "fix[31m it"  # no control character reaches a terminal or tmux
    assert s.worktree_path == "/p/repo/.claude/worktrees/x" and s.started_at == 1796433752.623
    assert parse_agents(good) == [] and parse_agents(None) == []
    assert parse_agents([good | {"id": "-rf"}])[0].job_id == ""


def test_a_fork_from_a_hook_is_folded_into_its_listed_entry_or_added() -> None:
    fork = ClaudeSession(SID, "fork", "/p/wt", parent_session_id=PARENT, instance_id="i1", repo="/p/repo")
    listed = ClaudeSession(SID, "background", "/p/repo", job_id="dc5151ef", state="blocked")
    merged = merge_forks([listed], [fork])
    assert len(merged) == 1
    assert (merged[0].kind, merged[0].job_id, merged[0].instance_id, merged[0].parent_session_id) == (
        "fork", "dc5151ef", "i1", PARENT)  # fmt: skip
    assert merge_forks([], [fork]) == [fork]


def test_promotion_resumes_or_forks_the_parent_conversation() -> None:
    s = ClaudeSession(SID, "background", "/p/repo", name='{"title": "Fix the parser"}')
    assert promote_args(s) == [f"--resume={SID}"]
    fork = ClaudeSession(SID, "fork", "/p/repo", parent_session_id=PARENT, transcript_only=True)
    assert promote_args(fork) == [f"--resume={PARENT}", "--fork-session", f"--session-id={SID}"]
    assert branch_for(s) == "title-Fix-the-parser"
    assert branch_for(ClaudeSession(SID, "fork", "/p", name="..")) == "claude-dc5151ef"
    assert branch_for(ClaudeSession(SID, "fork", "/p", name="-x.lock")) == "claude-dc5151ef"


def test_session_files_give_interactive_sessions_only() -> None:
    entry = {"pid": 77, "sessionId": SID, "cwd": "/p/repo/.claude/worktrees/wt1", "kind": "interactive"}
    s = parse_session_file(entry)
    assert s is not None and s.pid == 77 and s.kind == "interactive"
    assert parse_session_file(entry | {"kind": "bg"}) is None
    assert parse_session_file(entry | {"pid": True}) is None
    assert claude_worktree_of(s.cwd + "/src", ["/p/other", "/p/repo"]) == ("/p/repo", "/p/repo/.claude/worktrees/wt1")
    assert claude_worktree_of("/p/repo/src", ["/p/repo"]) is None


def test_the_root_lock_names_no_workspace_while_claude_worktrees_exist() -> None:
    assert lock_workspace("/p/repo", "/p/repo", claude_worktrees=True) == ()
    assert lock_workspace("/p/repo", "/p/repo", claude_worktrees=False) == ("/p/repo",)
    assert lock_workspace("/p/repo-a", "/p/repo", claude_worktrees=True) == ("/p/repo-a",)


def test_interrupt_is_registered_only_where_the_cli_knows_it_and_makes_idle() -> None:
    assert "Interrupt" not in hook_events((2, 1, 332)) and hook_events(None) == HOOK_EVENTS
    assert hook_events((2, 1, 335))[-1] == "Interrupt" and "Interrupt" in hook_events((2, 1, 336))
    assert next_state(InstanceState.BUSY, "Interrupt") is InstanceState.IDLE
    assert next_state(InstanceState.PAUSED, "Interrupt") is InstanceState.PAUSED


def test_a_listed_fork_goes_under_the_instance_whose_conversation_it_forked() -> None:
    entry = {"pid": 9, "id": "dc5151ef", "cwd": "/p/repo", "kind": "background", "sessionId": SID}
    jobs = {"dc5151ef": {"forkParentSessionId": PARENT}}
    (fork,) = parse_agents([entry], jobs)
    assert (fork.kind, fork.parent_session_id) == ("fork", PARENT)
    (placed,) = merge_forks([fork], [], {PARENT: ("i1", "/p/repo")})
    assert (placed.instance_id, placed.repo) == ("i1", "/p/repo")
    # A parent id that is no id, or the session's own, makes no fork.
    for bad in ("../x", SID):
        assert parse_agents([entry], {"dc5151ef": {"forkParentSessionId": bad}})[0].kind == "background"

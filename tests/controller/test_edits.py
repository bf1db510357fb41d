"""Claude's file writes through the real controller: hook.sh -> pre-image (before the tool runs) -> the
instance's own Neovim reloads -> :ClaudeCodeReview's data. The recorder stands in for claude; hooks are run
exactly as Claude Code runs them (the command from the instance's --settings file)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git
from tests.helpers.env import Env, ls_json
from tests.helpers.waiting import retry_until
from tmuxclaude.adapters.nvim import NvimClient
from tmuxclaude.model.review import ReviewStore

pytestmark = pytest.mark.timeout(60)

OLD = "x = 1\n"


def run_hook(env: Env, item: dict[str, Any], event: str, payload: dict[str, Any]) -> float:
    settings = Path(env.vars["XDG_RUNTIME_DIR"]).glob(f"tmuxclaude/*/{item['id']}.settings.json")
    command = json.loads(next(settings).read_text())["hooks"][event][0]["hooks"][0]["command"]
    body = json.dumps({"session_id": "sess-1", "hook_event_name": event, **payload})
    out = subprocess.run(["sh", "-c", command], input=body, capture_output=True, text=True, timeout=10, check=False)
    assert out.returncode == 0 and out.stdout == ""
    return 0.0


def nvim(item: dict[str, Any], code: str, *args: Any) -> Any:
    async def go() -> Any:
        client = await NvimClient.connect(item["nvim_socket"])
        try:
            return await client.exec_lua(code, *args)
        finally:
            await client.close()

    return asyncio.run(go())


def review(item: dict[str, Any], scope: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = nvim(
        item, "local ok, r = require('tmuxclaude').request({cmd = 'review', arg = ...}); return r", scope
    )
    return result


@pytest.fixture
def two(world: Env, repo: Path) -> tuple[Env, dict[str, Any], dict[str, Any]]:
    env = world
    other = repo.parent / "myapp-b"
    git(repo, "worktree", "add", "-q", "-b", "b", str(other))
    env.cli("open", "-d", str(repo), cwd=repo)
    env.cli("open", "-d", str(other), cwd=other)
    items = retry_until(lambda: [i for i in ls_json(env) if i["nvim_attached"]][1:] and ls_json(env), 20, "attached")
    a = next(i for i in items if i["worktree"] == str(repo))
    b = next(i for i in items if i["worktree"] == str(other))
    return env, a, b


def test_file_tool_hooks_keep_the_old_text_and_reload_only_that_instances_neovim(
    two: tuple[Env, dict[str, Any], dict[str, Any]],
) -> None:
    env, a, b = two
    # A hostile-looking name: spaces, quotes, a backslash, non-ASCII.
    target = Path(b["worktree"]) / 'we"ird \\ näme.py'
    target.write_text(OLD)
    for item in (a, b):
        nvim(item, "vim.cmd('noswapfile edit ' .. vim.fn.fnameescape(...))", str(target))
    run_hook(env, b, "UserPromptSubmit", {"prompt": "go"})
    tool_input = {"file_path": str(target), "content": "x = 2\n"}
    run_hook(env, b, "PreToolUse", {"tool_name": "Write", "tool_input": tool_input})
    target.write_text("x = 2\n")
    run_hook(env, b, "PostToolUse", {"tool_name": "Write", "tool_input": tool_input, "tool_response": {}})
    line = "return vim.api.nvim_buf_get_lines(require('tmuxclaude.util').find_buf(...), 0, -1, false)"
    retry_until(lambda: nvim(b, line, str(target)) == ["x = 2"], 1.0, "B's buffer shows the write")
    items = review(b, "turn")
    assert [(i["path"], i["old"], i["existed"]) for i in items] == [(str(target), OLD, True)]
    # A's Neovim has the same file open (its watcher reloads it: the file did change), but A's review is empty.
    assert review(a, "turn") == [] and review(a, "session") == []
    # A new prompt starts a new turn; the session still has the change.
    run_hook(env, b, "UserPromptSubmit", {"prompt": "again"})
    assert review(b, "turn") == []
    assert [i["path"] for i in review(b, "session")] == [str(target)]


def test_a_file_created_then_written_back_is_listed_or_not(two: tuple[Env, dict[str, Any], dict[str, Any]]) -> None:
    env, _, b = two
    created = Path(b["worktree"]) / "new.py"
    same = Path(b["worktree"]) / "same.py"
    same.write_text(OLD)
    run_hook(env, b, "UserPromptSubmit", {"prompt": "go"})
    for path in (created, same):
        run_hook(env, b, "PreToolUse", {"tool_name": "Edit", "tool_input": {"file_path": str(path)}})
    created.write_text("made\n")
    # same.py was "edited" back to its old text (a rejected diff writes nothing): nothing to review.
    items = review(b, "turn")
    assert [(i["path"], i["existed"], "old" in i) for i in items] == [(str(created), False, False)]
    # Tools that write no file, or a relative path, are not taken.
    run_hook(env, b, "PreToolUse", {"tool_name": "Bash", "tool_input": {"command": "echo > x"}})
    run_hook(env, b, "PreToolUse", {"tool_name": "Write", "tool_input": {"file_path": "rel.py"}})
    assert len(review(b, "session")) == 1


def test_review_store_is_bounded() -> None:
    store = ReviewStore(max_file_bytes=10, max_bytes=37)  # texts and paths count
    assert store.record("/a", b"0123456789", True)
    assert store.record("/big", b"x" * 11, True)
    assert store.record("/b", b"0123456789", True)
    assert store.record("/c", b"0123456789", True)  # over the instance budget: named, text not kept
    kept = {p.path: p.kept for p in store.changes("session")}
    assert kept == {"/a": True, "/big": False, "/b": True, "/c": False}
    assert store.used_bytes <= 37
    # The first pre-image wins; a new turn starts empty but the session remembers.
    assert not store.record("/a", b"later", True)
    store.new_turn()
    assert store.changes("turn") == [] and len(store.changes("session")) == 4
    assert store.record("/a", b"turn2", True)
    assert store.changes("turn")[0].text == b"turn2" and store.changes("session")[0].text == b"0123456789"
    store.new_session("s1")
    store.new_session("s2")
    assert store.changes("session") == []


def test_a_shell_write_during_a_turn_is_reviewable_from_the_buffer_text(
    two: tuple[Env, dict[str, Any], dict[str, Any]],
) -> None:
    env, _, b = two
    outside = Path(b["worktree"]) / "outside.txt"
    inside = Path(b["worktree"]) / "inside.txt"
    for path in (outside, inside):
        path.write_text("before\n")
        nvim(b, "vim.cmd('edit ' .. vim.fn.fnameescape(...))", str(path))
    line = "return vim.api.nvim_buf_get_lines(require('tmuxclaude.util').find_buf(...), 0, -1, false)"
    # No turn running: someone else's write reloads the buffer but is not Claude's change.
    outside.write_text("after\n")
    retry_until(lambda: nvim(b, line, str(outside)) == ["after"], 1.0, "reload outside a turn")
    run_hook(env, b, "UserPromptSubmit", {"prompt": "go"})
    run_hook(env, b, "PreToolUse", {"tool_name": "Bash", "tool_input": {"command": "echo after > inside.txt"}})
    inside.write_text("after\n")
    retry_until(lambda: nvim(b, line, str(inside)) == ["after"], 1.0, "reload of the Bash write")
    items = retry_until(lambda: review(b, "turn") or None, 5.0, "the buffer's pre-image reached the controller")
    assert [(i["path"], i["old"]) for i in items] == [(str(inside), "before\n")]

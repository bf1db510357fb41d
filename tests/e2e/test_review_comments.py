"""End to end with the real Claude Code CLI: line comments and reasons reach the right Claude, and only when it is
idle; a tmux pane's output reaches it as a clean, bounded file (issue 21).

The world (two instances, two Claudes, two Neovims, the mock API) is test_two_claudes.py's.
"""

from __future__ import annotations

import re
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import test_two_claudes as two
from tests.e2e.mock_api import Gated, RecordedRequest, Text, ToolUse
from tests.e2e.screen import press, wait_for_screen
from tests.e2e.test_two_claudes import (
    CALC,
    Side,
    World,
    messages,
    newer,
    nvim,
    nvim_keys,
    prompt,
    shown,
    state_of,
    tabs,
)
from tests.helpers.waiting import retry_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

# The world and the fixtures it reads, as test_two_claudes.py defines them.
world = two.world
user_settings = two.user_settings
user_config = two.user_config
startup_dialog = two.startup_dialog


def told(side: Side, text: str) -> bool:
    return text in shown(side) or text in messages(side)


def of_side(w: World, side: Side, since: int = 0) -> list[RecordedRequest]:
    return [r for r in w.api.main_requests() if r.seq >= since and str(side.worktree) in r.request_text]


def test_denied_diff_gives_b_the_reason_and_both_comments_and_a_nothing(world: World) -> None:
    w = world
    before = w.b.calc.read_bytes()
    w.api.script(
        [
            ToolUse("Read", {"file_path": str(w.b.calc)}),
            ToolUse("Edit", {"file_path": str(w.b.calc), "old_string": "a + b", "new_string": "a - b"}),
        ]
    )
    prompt(w.b, "please edit")
    retry_until(lambda: tabs(w.b) == 2, 30, "diff tab in Neovim B")
    # The proposed side has the cursor: a comment on its line 2; then one on line 1 of the file side.
    nvim_keys(w.b, ":2ClaudeCodeComment subtracting is wrong here")
    nvim_keys(w.b, ":wincmd h")
    nvim_keys(w.b, ":1ClaudeCodeComment keep this signature")
    items = retry_until(lambda: (i := nvim(w.b, "return require('tmuxclaude.comments').items")) and len(i) == 2 and i,
                        10, "both comments stored")  # fmt: skip
    assert {(i["side"], i["line1"]) for i in items} == {("proposed", 2), ("file", 1)}
    w.api.script([Text("revised plan")])
    since = w.api.next_seq
    nvim_keys(w.b, ":ClaudeCodeDiffDeny not what I asked for")
    wait_for_screen(w.b.claude, r"(?i)rejected", timeout=30)
    assert w.b.calc.read_bytes() == before
    req = w.api.wait_for_main_request(lambda r: "not what I asked for" in r.request_text, timeout=30, since=since)
    text = req.request_text
    assert str(w.b.worktree) in text
    for expected in ("Reason: not what I asked for", "calc.py line 2 of your proposed change",
                     "> " + "    return a - b", "subtracting is wrong here", "calc.py line 1:",
                     "> def add(a, b):", "keep this signature"):  # fmt: skip
        assert expected in text, expected
    wait_for_screen(w.b.claude, "revised plan", timeout=30)
    # Marked sent; Claude A's requests never held any of it.
    assert {i["state"] for i in nvim(w.b, "return require('tmuxclaude.comments').items")} == {"sent"}
    for r in of_side(w, w.a):
        assert "not what I asked" not in r.request_text and "keep this signature" not in r.request_text
    assert nvim(w.a, "return #require('tmuxclaude.comments').items") == 0
    assert w.b.calc.read_bytes() == before == CALC.encode()


class TestReviewSendInAutoMode:
    @pytest.fixture
    def user_settings(self, claude_version: str) -> dict[str, Any]:
        return {"permissions": {"defaultMode": "auto" if newer(claude_version) else "acceptEdits"}}

    def test_two_review_comments_reach_b_as_one_prompt_after_its_busy_turn(self, world: World) -> None:
        w = world
        w.api.script(
            [
                ToolUse("Read", {"file_path": str(w.b.calc)}),
                ToolUse("Edit", {"file_path": str(w.b.calc), "old_string": "a + b", "new_string": "a + b + 1"}),
                Text("edit done"),
            ]
        )
        prompt(w.b, "edit without asking")
        wait_for_screen(w.b.claude, "edit done", timeout=30)
        retry_until(lambda: state_of(w, w.b)["state"] == "idle", 30, "B idle")
        nvim_keys(w.b, ":ClaudeCodeReview turn")
        retry_until(lambda: tabs(w.b) == 2, 10, "review tab in Neovim B")
        nvim_keys(w.b, ":2ClaudeCodeComment why plus one")
        nvim_keys(w.b, ":wincmd h")
        nvim_keys(w.b, ":1,2ClaudeCodeComment this was fine")
        retry_until(lambda: nvim(w.b, "return #require('tmuxclaude.comments').items") == 2, 10, "both comments")

        # B gets busy with another turn (held by the mock) before the review is sent.
        gate = threading.Event()
        w.api.script([Gated(Text("long task done"), gate), Text("review received")])
        since = w.api.next_seq
        prompt(w.b, "a long task")
        w.api.wait_for_main_request(lambda r: "a long task" in r.request_text, timeout=30, since=since)
        retry_until(lambda: state_of(w, w.b)["state"] == "busy", 10, "B busy")
        nvim_keys(w.b, ":ClaudeCodeReview send")
        retry_until(lambda: told(w.b, f"queued: delivered when {w.b.name} is idle"), 10, "told it is queued")
        held = w.api.next_seq
        gate.set()
        req = w.api.wait_for_main_request(lambda r: "why plus one" in r.request_text, timeout=30, since=since)
        # One prompt, after the busy turn's own request; both comments with their lines and quotes.
        assert req.seq >= held
        assert "a long task" in req.request_text and "long task done" in req.request_text
        text = req.request_text
        assert "Review comments from the user on your changes (2 comments" in text
        assert "calc.py line 2:" in text and "> " + "    return a + b + 1" in text
        assert "calc.py lines 1-2 of the text before your change:" in text and "this was fine" in text
        wait_for_screen(w.b.claude, "review received", timeout=30)
        for r in of_side(w, w.a):
            assert "why plus one" not in r.request_text and "this was fine" not in r.request_text


def test_send_terminal_gives_claude_a_clean_bounded_file_outside_the_worktree(world: World) -> None:
    w = world
    script = "for i in range(5000): print(f'\\x1b[1;31mline {i}\\x1b[0m \\x1b[32mok\\x1b[0m')"
    w.env.tmux("new-window", "-d", "-n", "logs", "--", f'python3 -c "{script}"; exec sleep 600')
    pane = retry_until(
        lambda: next((p.split()[0] for p in w.env.tmux("list-panes", "-a", "-F", "#{pane_id} #{window_name}")
                      .splitlines() if p.split()[1:] == ["logs"]), None), 10, "the logs pane")  # fmt: skip
    retry_until(lambda: "line 4999" in w.env.tmux("capture-pane", "-p", "-t", pane), 20, "5000 lines printed")
    nvim_keys(w.b, f":ClaudeCodeSendTerminal {pane}")
    retry_until(lambda: told(w.b, f"lines of {pane} to {w.b.name}"), 10, "told in Neovim B")
    shot = wait_for_screen(w.b.claude, r"❯\s@(.|\n)*context/", timeout=20)
    files = list(Path(w.env.vars["XDG_RUNTIME_DIR"]).rglob("context/*-pane*.txt"))
    assert len(files) == 1
    captured = files[0]
    data = captured.read_bytes()
    assert stat.S_IMODE(captured.stat().st_mode) == 0o600
    assert not captured.resolve().is_relative_to(w.b.worktree.resolve())
    assert not captured.resolve().is_relative_to(w.a.worktree.resolve())
    lines = data.decode().splitlines()
    assert len(lines) <= 2000 and len(data) <= 48 * 1024
    assert lines[-1] == "line 4999 ok" and "line 2999 ok" not in lines
    assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", data)
    print(f"captured {len(lines)} lines, {len(data)} bytes; screen: {shot.splitlines()[-3:]}")
    w.api.script([Text("read the log")])
    since = w.api.next_seq
    press(w.b.claude, "Enter")
    req = w.api.wait_for_main_request(lambda r: "line 4999 ok" in r.request_text, timeout=30, since=since)
    assert str(w.b.worktree) in req.request_text
    assert "line 3500 ok" in req.request_text and "[1;31m" not in req.request_text
    for r in of_side(w, w.a):
        assert "line 4999" not in r.request_text

"""Smoke tests of the e2e harness itself: real ``claude`` in private tmux, against the scripted mock API."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.claude_env import SpawnClaude
from tests.e2e.mock_api import MockApi, Text, ToolUse
from tests.e2e.screen import press, type_text, wait_for_screen, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def test_prompt_reaches_mock_and_reply_reaches_screen(mock_api: MockApi, spawn_claude: SpawnClaude) -> None:
    mock_api.script([Text("HELLO-FROM-MOCK")])
    pane = spawn_claude()
    wait_ready(pane, timeout=30)

    prompt = "please greet the harness 7c1f"
    type_text(pane, prompt)
    wait_for_screen(pane, "greet the harness 7c1f", timeout=10)
    press(pane, "Enter")

    wait_for_screen(pane, "HELLO-FROM-MOCK", timeout=30)
    req = mock_api.wait_for_main_request(lambda r: prompt in r.request_text, timeout=10)
    assert req.query == "beta=true"
    assert req.headers["x-api-key"]
    assert req.body["stream"] is True
    assert req.response_content == [{"type": "text", "text": "HELLO-FROM-MOCK"}]
    # the title side query must not have consumed the turn
    assert mock_api.remaining_turns == 0
    assert len(mock_api.main_requests()) == 1
    assert all(r.side_query for r in mock_api.side_requests())


def test_write_tool_use_creates_file(mock_api: MockApi, spawn_claude: SpawnClaude, workdir: Path) -> None:
    target = workdir / "hello.txt"
    content = "written by the mock\nsecond line\n"
    mock_api.script(
        [
            [
                Text("I will write the file."),
                ToolUse("Write", {"file_path": str(target), "content": content}),
            ],
            Text("WROTE-THE-FILE"),
        ]
    )
    pane = spawn_claude("--permission-mode", "acceptEdits")
    wait_ready(pane, timeout=30)
    type_text(pane, "create hello.txt")
    press(pane, "Enter")

    first = mock_api.wait_for_main_request(lambda r: "create hello.txt" in r.request_text, timeout=30)
    (tool_use_id,) = first.response_tool_use_ids()
    follow_up = mock_api.wait_for_main_request(
        lambda r: any(b.get("tool_use_id") == tool_use_id for b in r.tool_results()), timeout=30
    )
    result = next(b for b in follow_up.tool_results() if b["tool_use_id"] == tool_use_id)
    assert not result.get("is_error"), follow_up.tool_result_text(tool_use_id)
    wait_for_screen(pane, "WROTE-THE-FILE", timeout=30)
    assert target.read_text() == content


def test_mock_api_side_queries_and_script_without_cli() -> None:
    """The mock alone: side queries don't consume turns; exhausted script answers "(done)"."""
    import json
    import urllib.request

    def post(api: MockApi, body: dict[str, object]) -> dict[str, object]:
        req = urllib.request.Request(
            api.url + "/v1/messages?beta=true",
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            result: dict[str, object] = json.loads(resp.read())
            return result

    with MockApi() as api:
        api.script([ToolUse("Read", {"file_path": "/x"}), Text("second")])
        tools = [{"name": "Read", "input_schema": {"type": "object"}}]
        side = post(api, {"model": "m", "messages": [], "tools": []})
        assert side["content"] == [{"type": "text", "text": '{"title": "Test"}'}]
        first = post(api, {"model": "m", "messages": [], "tools": tools})
        assert first["stop_reason"] == "tool_use"
        assert first["content"][0]["id"].startswith("toolu_")  # type: ignore[index]
        assert post(api, {"model": "m", "messages": [], "tools": tools})["content"] == [
            {"type": "text", "text": "second"}
        ]
        assert post(api, {"model": "m", "messages": [], "tools": tools})["content"] == [
            {"type": "text", "text": "(done)"}
        ]
        t0 = time.monotonic()
        assert api.wait_for_request(lambda r: r.side_query, timeout=1).seq == 0
        assert time.monotonic() - t0 < 1
        assert len(api.main_requests()) == 3
        with pytest.raises(TimeoutError):
            api.wait_for_request(lambda r: r.method == "GET", timeout=0.2)

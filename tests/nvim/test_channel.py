"""The Neovim channel's codec at the real boundary: what a real Neovim sends that the codec refuses is dropped (an
event) or answered with its one line (a request), and the link stays up for what comes next."""

from __future__ import annotations

import logging

import pytest

from tests.nvim.nvim_helpers import Recorder
from tmuxclaude.adapters.nvim import NvimBridge
from tmuxclaude.protocol.nvim_channel import EVENT_METHOD, REQUEST_METHOD


async def test_a_malformed_event_is_dropped_with_one_line_and_the_link_stays(
    bridge: NvimBridge, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tmuxclaude.adapters.nvim")
    channel = bridge.client.channel_id
    await bridge.client.exec_lua(
        f"local ch = ...; vim.rpcnotify(ch, '{EVENT_METHOD}', {{ type = 'mention', filePath = '/a', lineEnd = 3 }});"
        f"vim.rpcnotify(ch, '{EVENT_METHOD}', 'not a table');"
        f"vim.rpcnotify(ch, '{EVENT_METHOD}', {{ type = 'mention', filePath = '/b' }})",
        channel,
    )
    await recorder.wait_for(lambda e: e.get("filePath") == "/b")
    assert recorder.events == [{"type": "mention", "filePath": "/b"}]
    refused = [r.getMessage() for r in caplog.records if "ignored an event" in r.getMessage()]
    assert len(refused) == 2 and all("\n" not in line for line in refused)
    assert "lineEnd 3 without a lineStart" in refused[0] and "event must be a table" in refused[1]
    assert await bridge.client.exec_lua("return require('tmuxclaude').is_attached()") is True


async def test_a_malformed_request_is_answered_with_its_one_line(bridge: NvimBridge, recorder: Recorder) -> None:
    answer = await bridge.client.exec_lua(
        f"local ok, err = pcall(vim.rpcrequest, ..., '{REQUEST_METHOD}', {{ cmd = 'switch', arg = 2 }}); "
        "return { ok, tostring(err) }",
        bridge.client.channel_id,
    )
    assert answer[0] is False and "switch request: arg must be a string, got int" in answer[1]
    assert recorder.requests == []  # the controller's command table never saw it
    recorder.replies["switch"] = "feat-b"
    ok = await bridge.client.exec_lua(
        f"return vim.rpcrequest(..., '{REQUEST_METHOD}', {{ cmd = 'switch', arg = 'feat-b' }})",
        bridge.client.channel_id,
    )
    assert ok == "feat-b" and recorder.requests == [("switch", {"cmd": "switch", "arg": "feat-b"})]

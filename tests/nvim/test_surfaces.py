"""The Neovim surfaces around the commands: the instance picker (vim.ui.select), name completion and the statusline
component, against a real headless Neovim (attached through NvimBridge, or a user's own with the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.nvim.nvim_helpers import NvimProc, Recorder, connect_when_ready
from tmuxclaude.adapters.nvim import NvimBridge, NvimClient, runtime_dir

pytestmark = pytest.mark.timeout(30)

ITEMS = [
    {"n": 1, "name": "main", "branch": "main", "state": "idle", "port": 10001, "active": True},
    {"n": 2, "name": "feat-b", "branch": "feat-b", "state": "waiting", "port": 10002, "active": False},
    {"n": 3, "name": "feat-c", "branch": "feat-c", "state": "busy", "port": 10003, "active": False},
]

# A ui.select provider, as telescope/fzf-lua/snacks install one: records what it was asked, picks the 2nd item.
STUB_SELECT = """
_G.asked = nil
vim.ui.select = function(items, opts, on_choice)
  _G.asked = { prompt = opts.prompt, kind = opts.kind, lines = vim.tbl_map(opts.format_item, items) }
  on_choice(items[2])
end
"""

STATUSLINE = "%{v:lua.require'tmuxclaude'.statusline()}"


async def statusline(client: NvimClient) -> str:
    """The component as Neovim renders it in a real 'statusline'."""
    result = await client.request("nvim_eval_statusline", STATUSLINE, {})
    return str(result["str"])


async def shows(client: NvimClient, expected: str) -> bool:
    """Wait (bounded, inside Neovim) until the statusline renders ``expected``: pushed states arrive as
    notifications, which Neovim runs on its main loop after the request that asked."""
    ok = await client.exec_lua(
        "local fmt, want = ...; return vim.wait(2000, function() return vim.api.nvim_eval_statusline(fmt, {}).str"
        " == want end, 5)",
        STATUSLINE,
        expected,
    )
    return bool(ok)


async def test_switch_without_argument_opens_the_users_picker(bridge: NvimBridge, recorder: Recorder) -> None:
    recorder.replies["instances"] = ITEMS
    await bridge.client.exec_lua(STUB_SELECT)
    await bridge.client.request("nvim_command", "ClaudeCodeSwitch")
    asked = await bridge.client.exec_lua("return _G.asked")
    assert asked["prompt"] == "Claude Code instance" and asked["kind"] == "tmuxclaude.instance"
    assert asked["lines"] == [
        "main  [main]  idle  :10001  *",
        "feat-b  [feat-b]  waiting  :10002",
        "feat-c  [feat-c]  busy  :10003",
    ]
    assert [(cmd, p.get("arg")) for cmd, p in recorder.requests] == [("instances", None), ("switch", "feat-b")]


async def test_picker_with_no_instances_says_so(bridge: NvimBridge, recorder: Recorder) -> None:
    recorder.replies["instances"] = []
    await bridge.client.exec_lua(STUB_SELECT)
    await bridge.client.request("nvim_command", "ClaudeCodeSwitch")
    assert await bridge.client.exec_lua("return _G.asked") is None
    assert "no instances" in await bridge.client.request("nvim_exec", "messages", True)


async def test_instance_names_complete(bridge: NvimBridge, recorder: Recorder) -> None:
    recorder.replies["instances"] = ITEMS
    for cmd in ("ClaudeCodeSwitch", "ClaudeCodeKill", "ClaudeCodeSendTo", "ClaudeCodeResume"):
        got = await bridge.client.request("nvim_call_function", "getcompletion", [f"{cmd} feat", "cmdline"])
        assert got == ["feat-b", "feat-c"], cmd
    got = await bridge.client.request("nvim_call_function", "getcompletion", ["ClaudeCodeSwitch ", "cmdline"])
    assert got == ["main", "feat-b", "feat-c"]
    # A controller that fails: no completions, and no error either.
    recorder.replies["instances"] = RuntimeError("controller trouble")
    assert await bridge.client.request("nvim_call_function", "getcompletion", ["ClaudeCodeKill ", "cmdline"]) == []


async def test_statusline_shows_name_and_pushed_state_without_rpc(bridge: NvimBridge, recorder: Recorder) -> None:
    assert await statusline(bridge.client) == "main"
    bridge.push_status("busy", "●")
    assert await shows(bridge.client, "main ●")
    bridge.push_status("waiting", "◆")
    assert await shows(bridge.client, "main ◆")
    assert recorder.requests == []  # redraws never asked the controller anything
    await bridge.close()


async def test_statusline_is_empty_outside_an_instance(nvim_proc: NvimProc) -> None:
    client = await connect_when_ready(nvim_proc.address)
    try:
        await client.request("nvim_command", f"set rtp^={runtime_dir()} | runtime plugin/tmuxclaude.lua")
        assert await statusline(client) == ""
        # Attached and then the controller went away: '' again, not a stale state.
        bridge = await NvimBridge.attach(
            nvim_proc.address, instance_id="i9", name="feat-z", worktree=str(nvim_proc.workdir),
            on_event=lambda e: None, status=("idle", "○"),
        )  # fmt: skip
        assert await statusline(client) == "feat-z ○"
        await bridge.client.close()
        assert await client.exec_lua(
            "return vim.wait(2000, function() return not require('tmuxclaude').is_attached() end)"
        )
        assert await statusline(client) == ""
    finally:
        await client.close()


async def test_picker_and_completion_use_the_cli_when_not_attached(nvim_proc: NvimProc, tmp_path: Path) -> None:
    """A user's own Neovim: `ls --json` for the picker, click's completion protocol for names."""
    import json

    log = tmp_path / "cli.log"
    fake = tmp_path / "fake-tmuxclaude"
    fake.write_text(
        "#!/bin/sh\n"
        f'if [ -n "$_TMUXCLAUDE_COMPLETE" ]; then echo "complete $_TMUXCLAUDE_COMPLETE $COMP_WORDS" >> "{log}"; '
        "printf 'plain,main\\nplain,feat-b\\n'; exit 0; fi\n"
        f'echo "$*" >> "{log}"\n'
        f"if [ \"$1\" = ls ]; then printf '%s' '{json.dumps(ITEMS)}'; fi\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    client = await connect_when_ready(nvim_proc.address)
    try:
        await client.request("nvim_command", f"set rtp^={runtime_dir()} | runtime plugin/tmuxclaude.lua")
        await client.exec_lua("require('tmuxclaude.config').options.cli = ...", str(fake))
        await client.exec_lua(STUB_SELECT)
        await client.request("nvim_command", "ClaudeCodeSwitch")
        await client.exec_lua("vim.wait(5000, function() return _G.asked ~= nil end, 10)")
        asked: Any = await client.exec_lua("return _G.asked")
        assert asked["lines"][1] == "feat-b  [feat-b]  waiting  :10002"
        await client.exec_lua(
            "local p = ...; vim.wait(5000, function() return #vim.fn.readfile(p) >= 2 end, 10)", str(log)
        )
        got = await client.request("nvim_call_function", "getcompletion", ["ClaudeCodeSwitch f", "cmdline"])
        assert got == ["feat-b"]
        assert log.read_text().splitlines() == [
            "ls --json",
            "switch feat-b",
            "complete bash_complete tmuxclaude switch ",
        ]
    finally:
        await client.close()

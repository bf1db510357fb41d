"""openDiff / close_tab / closeAllDiffTabs through NvimBridge against a real headless Neovim."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.nvim.nvim_helpers import NvimProc, Recorder
from tmuxclaude.adapters.nvim import NvimBridge
from tmuxclaude.errors import ProtocolError

pytestmark = pytest.mark.timeout(30)

TAB = "✻ [Claude Code] calc.py (a1b2c3) ⧉"


def is_diff(ev: dict[str, Any]) -> bool:
    return ev.get("type") == "diff"


async def layout(bridge: NvimBridge) -> dict[str, Any]:
    """Tabs, and per window of the current tab its buffer name, buftype and 'diff'."""
    result: dict[str, Any] = await bridge.client.exec_lua(
        """
        local wins = {}
        for _, w in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
          local b = vim.api.nvim_win_get_buf(w)
          table.insert(wins, {name = vim.api.nvim_buf_get_name(b), buftype = vim.bo[b].buftype,
                              diff = vim.wo[w].diff, ft = vim.bo[b].filetype})
        end
        return {tabs = #vim.api.nvim_list_tabpages(), wins = wins}
        """
    )
    return result


async def sync(bridge: NvimBridge) -> None:
    """Return once every callback scheduled before this call has run (vim.schedule is FIFO)."""
    await bridge.client.exec_lua(
        """
        local done = false
        vim.schedule(function() done = true end)
        vim.wait(2000, function() return done end, 5)
        """
    )


@pytest.fixture
def calc(nvim_proc: NvimProc) -> Path:
    f = nvim_proc.workdir / "calc.py"
    f.write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    return f


async def open_calc(bridge: NvimBridge, calc: Path, tab: str = TAB, diff_id: str = "d1") -> None:
    await bridge.open_diff(diff_id, str(calc), str(calc), "def add(a, b):\n    return b + a\n", tab)


async def test_diff_ui_and_accept_with_write(bridge: NvimBridge, recorder: Recorder, calc: Path) -> None:
    await open_calc(bridge, calc)
    lay = await layout(bridge)
    assert lay["tabs"] == 2
    assert len(lay["wins"]) == 2
    left, right = lay["wins"]
    assert left["name"] == str(calc) and left["diff"] is True and left["buftype"] == ""
    assert TAB in right["name"] and right["diff"] is True and right["buftype"] == "acwrite"
    assert right["ft"] == "python"
    # The proposed window is current: edit it, then :w accepts.
    await bridge.client.request("nvim_buf_set_lines", 0, 0, 1, False, ["def add(a, b):  # edited"])
    await bridge.client.request("nvim_command", "write")
    ev = await recorder.wait_for(is_diff)
    assert ev == {
        "type": "diff",
        "id": "d1",
        "tab_name": TAB,
        "outcome": "accepted",
        "contents": "def add(a, b):  # edited\n    return b + a\n",
    }
    # The editor never writes the file: the CLI does.
    assert calc.read_text(encoding="utf-8") == "def add(a, b):\n    return a + b\n"
    orig_buf = await bridge.client.request("nvim_call_function", "bufnr", [str(calc)])
    assert await bridge.client.request("nvim_buf_get_lines", orig_buf, 0, -1, False) == [
        "def add(a, b):",
        "    return a + b",
    ]
    # The view stays until close_tab; closing it emits nothing more.
    assert (await layout(bridge))["tabs"] == 2
    assert await bridge.close_diff(TAB) is True
    await sync(bridge)
    assert (await layout(bridge))["tabs"] == 1
    assert len(recorder.of_type("diff")) == 1
    assert await bridge.close_diff(TAB) is False


async def test_accept_reloads_after_cli_write(bridge: NvimBridge, recorder: Recorder, calc: Path) -> None:
    await bridge.client.request("nvim_command", f"edit {calc}")
    await open_calc(bridge, calc)
    await bridge.client.request("nvim_command", "ClaudeCodeDiffAccept")
    ev = await recorder.wait_for(is_diff)
    assert ev["outcome"] == "accepted"
    assert ev["contents"] == "def add(a, b):\n    return b + a\n"
    await bridge.close_diff(TAB)
    calc.write_text(ev["contents"], encoding="utf-8")
    buf = await bridge.client.request("nvim_call_function", "bufnr", [str(calc)])
    # Wait (bounded) for the buffer to pick up the CLI's write.
    await bridge.client.exec_lua(
        """
        local buf = ...
        vim.wait(4000, function()
          return vim.api.nvim_buf_get_lines(buf, 1, 2, false)[1] == '    return b + a'
        end, 20)
        """,
        buf,
    )
    assert await bridge.client.request("nvim_buf_get_lines", buf, 0, -1, False) == [
        "def add(a, b):",
        "    return b + a",
    ]


async def test_no_trailing_newline_roundtrip(bridge: NvimBridge, recorder: Recorder, nvim_proc: NvimProc) -> None:
    new = nvim_proc.workdir / "new_file.py"
    await bridge.open_diff("n1", str(new), str(new), "X = 1", "✻ [Claude Code] new_file.py (000001) ⧉")
    lay = await layout(bridge)
    assert lay["wins"][0]["buftype"] == "nofile"  # empty scratch for a new file
    assert lay["wins"][1]["ft"] == "python"
    await bridge.client.request("nvim_command", "write")
    ev = await recorder.wait_for(is_diff)
    assert ev["outcome"] == "accepted"
    assert ev["contents"] == "X = 1"
    assert not new.exists()
    await bridge.close_diff("✻ [Claude Code] new_file.py (000001) ⧉")


async def test_reject_with_deny(bridge: NvimBridge, recorder: Recorder, calc: Path) -> None:
    await open_calc(bridge, calc)
    await bridge.client.request("nvim_command", "ClaudeCodeDiffDeny")
    ev = await recorder.wait_for(is_diff)
    assert ev == {"type": "diff", "id": "d1", "tab_name": TAB, "outcome": "rejected"}
    await sync(bridge)
    assert (await layout(bridge))["tabs"] == 1
    await bridge.client.request("nvim_command", "ClaudeCodeDiffDeny")  # nothing left: no second event
    await sync(bridge)
    assert len(recorder.of_type("diff")) == 1


@pytest.mark.parametrize("close_cmd", ["tabclose", "quit", "bwipeout!"])
async def test_reject_by_closing(bridge: NvimBridge, recorder: Recorder, calc: Path, close_cmd: str) -> None:
    await open_calc(bridge, calc)
    await bridge.client.request("nvim_command", close_cmd)
    ev = await recorder.wait_for(is_diff)
    assert ev["outcome"] == "rejected"
    await sync(bridge)
    assert len(recorder.of_type("diff")) == 1
    assert (await layout(bridge))["tabs"] == 1
    # The user's file buffer is untouched and not left in diff mode.
    assert calc.read_text(encoding="utf-8") == "def add(a, b):\n    return a + b\n"
    assert await bridge.close_diff(TAB) is False


async def test_tabclose_of_modified_proposal_rejects(bridge: NvimBridge, recorder: Recorder, calc: Path) -> None:
    await open_calc(bridge, calc)
    await bridge.client.request("nvim_buf_set_lines", 0, 0, 1, False, ["changed"])
    await bridge.client.request("nvim_command", "tabclose!")
    ev = await recorder.wait_for(is_diff)
    assert ev["outcome"] == "rejected"
    await sync(bridge)
    assert (await layout(bridge))["tabs"] == 1
    assert len(recorder.of_type("diff")) == 1


async def test_same_tab_name_rejects_first(bridge: NvimBridge, recorder: Recorder, calc: Path) -> None:
    await open_calc(bridge, calc, diff_id="first")
    await open_calc(bridge, calc, diff_id="second")
    ev = await recorder.wait_for(is_diff)
    assert ev == {"type": "diff", "id": "first", "tab_name": TAB, "outcome": "rejected"}
    lay = await layout(bridge)
    assert lay["tabs"] == 2  # the old view is replaced, not stacked
    await bridge.client.request("nvim_command", "write")
    ev2 = await recorder.wait_for(lambda e: is_diff(e) and e["id"] == "second")
    assert ev2["outcome"] == "accepted"
    assert len(recorder.of_type("diff")) == 2


async def test_close_pending_diff_emits_nothing(bridge: NvimBridge, recorder: Recorder, calc: Path) -> None:
    await open_calc(bridge, calc)
    assert await bridge.close_diff(TAB) is True
    await sync(bridge)
    assert (await layout(bridge))["tabs"] == 1
    assert recorder.of_type("diff") == []


async def test_unsaved_target_refused(bridge: NvimBridge, recorder: Recorder, calc: Path) -> None:
    await bridge.client.request("nvim_command", f"edit {calc}")
    await bridge.client.request("nvim_buf_set_lines", 0, 0, 1, False, ["dirty"])
    with pytest.raises(ProtocolError) as info:
        await open_calc(bridge, calc)
    assert info.value.code == -32000
    assert info.value.message == "Cannot create diff: file has unsaved changes"
    assert (await layout(bridge))["tabs"] == 1


async def test_close_all_closes_only_ours(
    bridge: NvimBridge, recorder: Recorder, calc: Path, nvim_proc: NvimProc
) -> None:
    other = nvim_proc.workdir / "other.py"
    other.write_text("a = 1\n", encoding="utf-8")
    # The user's own diff in the first tab.
    await bridge.client.request("nvim_command", f"edit {calc} | diffthis | vsplit {other} | diffthis")
    await open_calc(bridge, calc, tab=TAB, diff_id="p1")
    await open_calc(bridge, calc, tab="✻ [Claude Code] calc.py (ffffff) ⧉", diff_id="p2")
    await bridge.client.request("nvim_command", "write")  # accept p2 (current tab)
    assert await bridge.call_tool("closeAllDiffTabs", {}) == 2
    await sync(bridge)
    lay = await layout(bridge)
    assert lay["tabs"] == 1
    assert [w["diff"] for w in lay["wins"]] == [True, True]
    outcomes = {e["id"]: e["outcome"] for e in recorder.of_type("diff")}
    assert outcomes == {"p1": "rejected", "p2": "accepted"}
    assert await bridge.call_tool("closeAllDiffTabs", {}) == 0


async def test_exit_rejects_pending(nvim_proc: NvimProc, bridge: NvimBridge, recorder: Recorder, calc: Path) -> None:
    await open_calc(bridge, calc)
    bridge.client.notify("nvim_command", "qall!")
    ev = await recorder.wait_for(is_diff)
    assert ev["outcome"] == "rejected"
    await bridge.client.wait_closed()


async def test_setup_failure_is_a_protocol_error(bridge: NvimBridge, recorder: Recorder, calc: Path) -> None:
    # Make the tab creation fail half-way: the partial view is cleaned up and the CLI gets an error.
    await bridge.client.exec_lua(
        "_G.real_cmd = vim.cmd; vim.cmd = function(c) if c == 'rightbelow vsplit' "
        "then error('E999: boom') end return _G.real_cmd(c) end"
    )
    try:
        with pytest.raises(ProtocolError) as info:
            await open_calc(bridge, calc)
    finally:
        await bridge.client.exec_lua("vim.cmd = _G.real_cmd")
    assert info.value.code == -32000
    assert "boom" in info.value.message
    assert (await layout(bridge))["tabs"] == 1
    assert await bridge.close_diff(TAB) is False
    assert recorder.of_type("diff") == []

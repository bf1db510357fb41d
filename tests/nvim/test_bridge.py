"""NvimBridge + the Lua runtime against a real headless Neovim: attach, selection, tools, commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.nvim.nvim_helpers import NvimProc, Recorder, attach_bridge
from tmuxclaude.adapters.nvim import NvimBridge, runtime_dir
from tmuxclaude.errors import ProtocolError

pytestmark = pytest.mark.timeout(30)


async def edit(bridge: NvimBridge, path: Path) -> None:
    await bridge.client.request("nvim_command", f"edit {path}")


async def test_attach_returns_pid(bridge: NvimBridge, nvim_proc: NvimProc) -> None:
    assert bridge.pid == nvim_proc.proc.pid
    assert bridge.version
    rtp = await bridge.client.request("nvim_list_runtime_paths")
    assert rtp.count(str(runtime_dir())) == 1
    # Commands exist, and attaching again (same Neovim, new channel) keeps one runtimepath entry.
    assert await bridge.client.request("nvim_eval", "exists(':ClaudeCodeSend')") == 2
    again = await NvimBridge.attach(
        nvim_proc.address,
        instance_id="i1",
        name="main",
        worktree=str(nvim_proc.workdir),
        on_event=lambda e: None,
    )
    try:
        rtp = await again.client.request("nvim_list_runtime_paths")
        assert rtp.count(str(runtime_dir())) == 1
        assert await again.client.exec_lua("return require('tmuxclaude').state.channel") == again.client.channel_id
    finally:
        await again.close()


async def test_plugin_file_defines_commands(nvim_proc: NvimProc) -> None:
    """A user's own Neovim with the runtime dir on 'runtimepath' gets the commands from the plugin file."""
    from tests.nvim.nvim_helpers import connect_when_ready

    client = await connect_when_ready(nvim_proc.address)
    try:
        await client.request("nvim_command", f"set rtp^={runtime_dir()} | runtime plugin/tmuxclaude.lua")
        assert await client.request("nvim_eval", "exists(':ClaudeCodeList')") == 2
        assert await client.exec_lua("return require('tmuxclaude').is_attached()") is False
    finally:
        await client.close()


# -- selection ---------------------------------------------------------------------------------------------


async def test_visual_selection_event(bridge: NvimBridge, recorder: Recorder, nvim_proc: NvimProc) -> None:
    f = nvim_proc.workdir / "sel.py"
    f.write_text("hello world\nsecond line\nthird\n", encoding="utf-8")
    await edit(bridge, f)
    await bridge.client.request("nvim_input", "wvjl")
    ev = await recorder.wait_for(lambda e: e.get("type") == "selection" and e["text"] != "")
    assert ev["text"] == "world\nsecond l"
    assert ev["filePath"] == str(f)
    assert ev["selection"]["start"] == {"line": 0, "character": 6}
    assert ev["selection"]["end"] == {"line": 1, "character": 8}
    assert ev["isEmpty"] is False


async def test_linewise_selection_event(bridge: NvimBridge, recorder: Recorder, nvim_proc: NvimProc) -> None:
    f = nvim_proc.workdir / "lines.py"
    f.write_text("a = 1\nbb = 22\nccc = 333\n", encoding="utf-8")
    await edit(bridge, f)
    await bridge.client.request("nvim_input", "jVj")
    ev = await recorder.wait_for(lambda e: e.get("type") == "selection" and e["text"] != "")
    assert ev["text"] == "bb = 22\nccc = 333"
    assert ev["selection"]["start"] == {"line": 1, "character": 0}
    assert ev["selection"]["end"] == {"line": 2, "character": 9}


async def test_quick_visual_is_flushed(nvim_proc: NvimProc, recorder: Recorder) -> None:
    """A selection made and released well within the debounce still arrives (flushed on leaving visual)."""
    bridge = await attach_bridge(nvim_proc, recorder, debounce_ms=5000, requests=False)
    try:
        f = nvim_proc.workdir / "quick.txt"
        f.write_text("abcdef\n", encoding="utf-8")
        await edit(bridge, f)
        await bridge.client.request("nvim_input", "lvll<Esc>")
        ev = await recorder.wait_for(lambda e: e.get("type") == "selection" and e["text"] != "", timeout=3)
        assert ev["text"] == "bcd"
        assert ev["selection"]["start"] == {"line": 0, "character": 1}
        assert ev["selection"]["end"] == {"line": 0, "character": 4}
    finally:
        await bridge.close()


async def test_cursor_move_sends_empty_text(bridge: NvimBridge, recorder: Recorder, nvim_proc: NvimProc) -> None:
    f = nvim_proc.workdir / "cur.py"
    f.write_text("one\ntwo\nthree\n", encoding="utf-8")
    await edit(bridge, f)
    await bridge.client.request("nvim_input", "jjll")
    ev = await recorder.wait_for(
        lambda e: e.get("type") == "selection" and e["selection"]["start"] == {"line": 2, "character": 2}
    )
    assert ev["text"] == ""
    assert ev["isEmpty"] is True
    assert ev["selection"]["end"] == {"line": 2, "character": 2}
    # Only changes are sent. Notifications precede the exec_lua answer on the one stream, so counting after
    # the call returns is deterministic.
    count = len(recorder.of_type("selection"))
    await bridge.client.exec_lua("local s = require('tmuxclaude.selection'); s.update(); s.update()")
    assert len(recorder.of_type("selection")) == count
    await bridge.client.request("nvim_win_set_cursor", 0, [1, 1])
    await bridge.client.exec_lua("local s = require('tmuxclaude.selection'); s.update(); s.update()")
    assert len(recorder.of_type("selection")) == count + 1
    assert recorder.of_type("selection")[-1]["selection"]["start"] == {"line": 0, "character": 1}
    sel = await bridge.call_tool("getLatestSelection", {})
    assert sel["selection"]["start"] == {"line": 0, "character": 1}
    assert "success" not in sel


async def test_terminal_buffer_sends_nothing(bridge: NvimBridge, recorder: Recorder, nvim_proc: NvimProc) -> None:
    await bridge.client.request("nvim_command", "enew | setlocal buftype=nofile")
    await bridge.client.request("nvim_input", "ihello<Esc>")
    f = nvim_proc.workdir / "after.txt"
    f.write_text("x\n", encoding="utf-8")
    await edit(bridge, f)
    ev = await recorder.wait_for(lambda e: e.get("type") == "selection")
    # The first selection event is the file buffer's, never the scratch buffer's.
    assert ev["filePath"] == str(f)


async def test_current_selection_tool(bridge: NvimBridge, nvim_proc: NvimProc) -> None:
    none = await bridge.call_tool("getCurrentSelection", {})
    assert none == {"success": False, "message": "No active editor found"}
    f = nvim_proc.workdir / "cs.txt"
    f.write_text("abc\ndef\n", encoding="utf-8")
    await edit(bridge, f)
    await bridge.client.request("nvim_input", "vj")
    assert (await bridge.client.request("nvim_get_mode"))["mode"] == "v"
    cur = await bridge.call_tool("getCurrentSelection", {})
    assert cur["success"] is True
    assert cur["text"] == "abc\nd"
    assert cur["filePath"] == str(f)
    assert cur["fileUrl"] == f"file://{f}"
    assert cur["selection"] == {
        "start": {"line": 0, "character": 0},
        "end": {"line": 1, "character": 1},
        "isEmpty": False,
    }


# -- tools -------------------------------------------------------------------------------------------------


async def test_get_diagnostics(bridge: NvimBridge, nvim_proc: NvimProc) -> None:
    f = nvim_proc.workdir / "with space é.py"
    f.write_text("x = sum_(1)\nimport os\n", encoding="utf-8")
    other = nvim_proc.workdir / "clean.py"
    other.write_text("y = 1\n", encoding="utf-8")
    await edit(bridge, other)
    await bridge.client.request("nvim_command", f"edit {str(f).replace(' ', chr(92) + ' ')}")
    await bridge.client.exec_lua(
        """
        local ns = vim.api.nvim_create_namespace('test')
        vim.diagnostic.set(ns, 0, {
          {lnum = 0, col = 4, end_lnum = 0, end_col = 8, severity = 1, message = "Undefined name 'sum_'",
           source = 'fakelint', code = 821},
          {lnum = 1, col = 0, severity = vim.diagnostic.severity.HINT, message = 'unused import'},
        })
        """
    )
    expected = [
        {
            "uri": f"file://{f}",
            "diagnostics": [
                {
                    "message": "Undefined name 'sum_'",
                    "severity": "Error",
                    "range": {"start": {"line": 0, "character": 4}, "end": {"line": 0, "character": 8}},
                    "source": "fakelint",
                    "code": "821",
                },
                {
                    "message": "unused import",
                    "severity": "Hint",
                    "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}},
                },
            ],
        }
    ]
    assert await bridge.call_tool("getDiagnostics", {}) == expected
    assert await bridge.call_tool("getDiagnostics", {"uri": f"file://{f}"}) == expected
    assert await bridge.call_tool("getDiagnostics", {"uri": f"file://{other}"}) == [
        {"uri": f"file://{other}", "diagnostics": []}
    ]
    assert await bridge.call_tool("getDiagnostics", {"uri": "file:///not/open.py"}) == []


async def test_open_file_variants(bridge: NvimBridge, nvim_proc: NvimProc) -> None:
    f = nvim_proc.workdir / "open.py"
    f.write_text("def f():\n    return 1\n\nprint(f())\n", encoding="utf-8")
    start_buf = await bridge.client.request("nvim_get_current_buf")

    res = await bridge.call_tool(
        "openFile",
        {
            "filePath": str(f),
            "preview": False,
            "startText": "",
            "endText": "",
            "selectToEndOfLine": False,
            "makeFrontmost": False,
        },
    )
    assert res == {"success": True, "filePath": str(f), "languageId": "python", "lineCount": 4}
    # Loaded, but the user's view did not move.
    assert await bridge.client.request("nvim_get_current_buf") == start_buf
    assert await bridge.client.request("nvim_call_function", "bufloaded", [str(f)]) == 1

    assert await bridge.call_tool("openFile", {"filePath": str(f)}) == f"Opened file: {f}"
    assert await bridge.client.request("nvim_buf_get_name", 0) == str(f)

    await bridge.call_tool("openFile", {"filePath": str(f), "startLine": 2, "endLine": 4})
    sel = await bridge.call_tool("getCurrentSelection", {})
    assert sel["selection"]["start"]["line"] == 1
    assert sel["selection"]["end"]["line"] == 3
    assert sel["text"].startswith("    return 1")
    await bridge.client.request("nvim_input", "<Esc>")

    await bridge.call_tool("openFile", {"filePath": str(f), "startText": "return", "endText": "1"})
    sel = await bridge.call_tool("getCurrentSelection", {})
    assert sel["text"] == "return 1"
    await bridge.client.request("nvim_input", "<Esc>")

    with pytest.raises(ProtocolError) as info:
        await bridge.call_tool("openFile", {"filePath": str(nvim_proc.workdir / "missing.py")})
    assert info.value.code == -32000
    assert info.value.message == f"File not found: {nvim_proc.workdir / 'missing.py'}"

    with pytest.raises(ProtocolError) as info:
        await bridge.call_tool("noSuchTool", {})
    assert info.value.code == -32601


async def test_dirty_and_save(bridge: NvimBridge, nvim_proc: NvimProc) -> None:
    f = nvim_proc.workdir / "dirty.txt"
    f.write_text("a\n", encoding="utf-8")
    missing = str(nvim_proc.workdir / "nope.txt")
    assert await bridge.call_tool("checkDocumentDirty", {"filePath": missing}) == {
        "success": False,
        "message": f"Document not open: {missing}",
    }
    await edit(bridge, f)
    clean = await bridge.call_tool("checkDocumentDirty", {"filePath": str(f)})
    assert clean == {"success": True, "filePath": str(f), "isDirty": False, "isUntitled": False}
    await bridge.client.request("nvim_buf_set_lines", 0, 0, -1, False, ["changed"])
    assert (await bridge.call_tool("checkDocumentDirty", {"filePath": str(f)}))["isDirty"] is True
    saved = await bridge.call_tool("saveDocument", {"filePath": str(f)})
    assert saved == {
        "success": True,
        "filePath": str(f),
        "saved": True,
        "message": "Document saved successfully",
    }
    assert f.read_text(encoding="utf-8") == "changed\n"
    assert (await bridge.call_tool("checkDocumentDirty", {"filePath": str(f)}))["isDirty"] is False
    assert (await bridge.call_tool("saveDocument", {"filePath": missing}))["success"] is False


async def test_open_editors_and_workspace(bridge: NvimBridge, nvim_proc: NvimProc) -> None:
    assert await bridge.call_tool("getOpenEditors", {}) == {"tabs": []}
    f = nvim_proc.workdir / "ed.lua"
    f.write_text("return 1\n", encoding="utf-8")
    await edit(bridge, f)
    tabs = (await bridge.call_tool("getOpenEditors", {}))["tabs"]
    assert len(tabs) == 1
    assert tabs[0]["uri"] == f"file://{f}"
    assert tabs[0]["isActive"] is True
    assert tabs[0]["languageId"] == "lua"
    assert tabs[0]["label"] == "ed.lua"
    ws = await bridge.call_tool("getWorkspaceFolders", {})
    root = str(nvim_proc.workdir)
    assert ws == {
        "success": True,
        "folders": [{"name": nvim_proc.workdir.name, "uri": f"file://{root}", "path": root}],
        "rootPath": root,
    }


# -- commands ----------------------------------------------------------------------------------------------


async def test_send_range_emits_mention(bridge: NvimBridge, recorder: Recorder, nvim_proc: NvimProc) -> None:
    f = nvim_proc.workdir / "send.py"
    f.write_text("1\n2\n3\n4\n5\n", encoding="utf-8")
    await edit(bridge, f)
    await bridge.client.request("nvim_command", "2,4ClaudeCodeSend")
    ev = await recorder.wait_for(lambda e: e.get("type") == "mention")
    assert ev == {"type": "mention", "filePath": str(f), "lineStart": 1, "lineEnd": 3}

    await bridge.client.request("nvim_command", "ClaudeCodeSend")
    ev = await recorder.wait_for(lambda e: e.get("type") == "mention" and "lineStart" not in e)
    assert ev == {"type": "mention", "filePath": str(f)}

    await bridge.client.request("nvim_command", "3ClaudeCodeSendTo feat-x")
    ev = await recorder.wait_for(lambda e: e.get("type") == "mention" and e.get("to") == "feat-x")
    assert (ev["lineStart"], ev["lineEnd"]) == (2, 2)


async def test_visual_send(bridge: NvimBridge, recorder: Recorder, nvim_proc: NvimProc) -> None:
    f = nvim_proc.workdir / "vsend.py"
    f.write_text("a\nb\nc\nd\n", encoding="utf-8")
    await edit(bridge, f)
    await bridge.client.request("nvim_input", "jVj:ClaudeCodeSend<CR>")
    ev = await recorder.wait_for(lambda e: e.get("type") == "mention")
    assert (ev["lineStart"], ev["lineEnd"]) == (1, 2)


async def test_add_command(bridge: NvimBridge, recorder: Recorder, nvim_proc: NvimProc) -> None:
    f = nvim_proc.workdir / "add.py"
    f.write_text("x\n" * 30, encoding="utf-8")
    await bridge.client.request("nvim_command", f"ClaudeCodeAdd {f} 10 20")
    ev = await recorder.wait_for(lambda e: e.get("type") == "mention")
    assert ev == {"type": "mention", "filePath": str(f), "lineStart": 9, "lineEnd": 19}
    sub = nvim_proc.workdir / "pkg"
    sub.mkdir()
    await bridge.client.request("nvim_command", f"ClaudeCodeAdd {sub}")
    ev = await recorder.wait_for(lambda e: e.get("type") == "mention" and e["filePath"].endswith("pkg/"))
    assert ev == {"type": "mention", "filePath": f"{sub}/"}


async def test_list_goes_to_controller(bridge: NvimBridge, recorder: Recorder, nvim_proc: NvimProc) -> None:
    recorder.replies["list"] = "1. [main] ~/proj (port: 10001) *active*"
    f = nvim_proc.workdir / "l.txt"
    f.write_text("x\n", encoding="utf-8")
    await edit(bridge, f)
    await bridge.client.request("nvim_command", "ClaudeCodeList")
    assert recorder.requests[0][0] == "list"
    assert recorder.requests[0][1]["cmd"] == "list"
    assert recorder.requests[0][1]["path"] == str(f)
    messages = await bridge.client.request("nvim_exec", "messages", True)
    assert "1. [main] ~/proj (port: 10001) *active*" in messages

    await bridge.client.request("nvim_command", "ClaudeCodeSwitch 2")
    await bridge.client.request("nvim_command", "ClaudeCodeKill")
    await bridge.client.request("nvim_command", "ClaudeCodeKillAll")
    got = [(cmd, p.get("arg")) for cmd, p in recorder.requests[1:]]
    assert got == [("switch", "2"), ("kill", None), ("kill_all", None)]


async def test_controller_error_is_notified(bridge: NvimBridge, recorder: Recorder) -> None:
    recorder.replies["switch"] = RuntimeError("no instance named zzz")
    await bridge.client.exec_lua(
        "_G.notes = {}; vim.notify = function(msg, level) table.insert(_G.notes, {msg, level}) end"
    )
    await bridge.client.request("nvim_command", "ClaudeCodeSwitch zzz")
    notes: list[Any] = await bridge.client.exec_lua("return _G.notes")
    assert notes == [["no instance named zzz", 4]]


async def test_checkhealth(bridge: NvimBridge) -> None:
    await bridge.client.request("nvim_command", "checkhealth tmuxclaude")
    lines = await bridge.client.request("nvim_buf_get_lines", 0, 0, -1, False)
    text = "\n".join(lines)
    assert "tmuxclaude" in text
    assert "attached to the controller as instance main" in text
    assert "server address" in text


async def test_commands_run_cli_when_not_attached(nvim_proc: NvimProc, tmp_path: Path) -> None:
    """In a user's own Neovim the commands run the tmuxclaude CLI as a job and show its output."""
    from tests.nvim.nvim_helpers import connect_when_ready

    log = tmp_path / "cli.log"
    fake = tmp_path / "fake-tmuxclaude"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        'if [ "$1" = kill ]; then echo "no such instance: $2" >&2; exit 6; fi\n'
        'echo "ok: $1"\n',
        encoding="utf-8",
    )
    fake.chmod(0o755)
    f = nvim_proc.workdir / "mine.py"
    f.write_text("a\nb\nc\n", encoding="utf-8")
    client = await connect_when_ready(nvim_proc.address)
    try:
        await client.request("nvim_command", f"set rtp^={runtime_dir()} | runtime plugin/tmuxclaude.lua")
        await client.exec_lua(
            "require('tmuxclaude.config').options.cli = ...;"
            "_G.notes = {}; vim.notify = function(msg, level) table.insert(_G.notes, {msg, level}) end",
            str(fake),
        )
        await client.request("nvim_command", f"edit {f}")
        for cmd in [
            "ClaudeCodeList",
            "2,3ClaudeCodeSend",
            "ClaudeCodeSendTo other",
            "ClaudeCodeKill zz",
            "ClaudeCode",
        ]:
            await client.request("nvim_command", cmd)
        # The jobs run in the background: wait (bounded) inside Neovim until all five have reported.
        await client.exec_lua(
            "vim.wait(5000, function()"
            "  return #_G.notes >= 4 and vim.fn.execute('messages'):find('ok: ls') ~= nil "
            "end, 10)"
        )
        calls = log.read_text(encoding="utf-8").splitlines()
        assert sorted(calls) == sorted(
            [
                "ls",
                f"send {f}:2-3",
                f"send --to other {f}",
                "kill zz",
                f"open --nvim-server {nvim_proc.address} {f}",
            ]
        )
        notes = await client.exec_lua("return _G.notes")
        assert ["no such instance: zz", 4] in notes
        assert ["ok: send", 2] in notes
        messages = await client.request("nvim_exec", "messages", True)
        assert "ok: ls" in messages
    finally:
        await client.close()


async def test_setup_after_attach_applies_and_a_later_bare_setup_keeps_it(bridge: NvimBridge) -> None:
    """lazy.nvim calls setup(opts) whenever the plugin loads: after the controller attached, too."""
    read = (
        "return {require('tmuxclaude.config').options.debounce_ms, require('tmuxclaude.selection').state.debounce_ms}"
    )
    assert (await bridge.client.exec_lua(read))[1] == 20  # the controller's value (the fixture's)
    await bridge.client.exec_lua("require('tmuxclaude').setup({ debounce_ms = 250 })")
    assert await bridge.client.exec_lua(read) == [250, 250]
    await bridge.client.exec_lua("require('tmuxclaude').setup()")  # plugin/tmuxclaude.lua, say
    assert await bridge.client.exec_lua(read) == [250, 250]

"""The IDE bridge end to end without the real CLI: two instances served by the controller, each with a real
headless Neovim, and the ``mcp`` package's client standing in for Claude."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from tests.helpers.env import Env
from tests.helpers.mcp_ws import AUTH, ide_client
from tests.helpers.waiting import aretry_until, retry_until
from tmuxclaude.adapters.nvim import NvimClient

pytestmark = pytest.mark.timeout(90)


@dataclass
class Inst:
    name: str
    port: int
    token: str
    worktree: Path
    nvim_socket: str
    nvim: NvimClient

    async def lua(self, code: str, *args: Any) -> Any:
        return await self.nvim.exec_lua(code, *args)

    async def cmd(self, command: str) -> None:
        await self.nvim.request("nvim_command", command)

    async def tabs(self) -> int:
        return int(await self.nvim.request("nvim_eval", "tabpagenr('$')"))


@pytest.fixture
async def pair(env: Env, repo: Path) -> AsyncIterator[tuple[Inst, Inst]]:
    env.start_tmux()
    env.use_recorder()
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    import subprocess

    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "calc"], cwd=repo, check=True)
    await asyncio.to_thread(env.cli, "new", "feat-a", cwd=repo)
    await asyncio.to_thread(env.cli, "new", "feat-b", cwd=repo)

    def attached() -> list[dict[str, Any]] | None:
        items = json.loads(env.cli("ls", "--json").stdout)
        return items if all(i["nvim_attached"] for i in items) else None

    items = await asyncio.to_thread(retry_until, attached, 20, "both Neovims attached")
    out = []
    for item in items:
        lock = json.loads((env.lock_dir / f"{item['port']}.lock").read_text())
        nvim = await NvimClient.connect(item["nvim_socket"])
        out.append(
            Inst(
                item["name"],
                item["port"],
                lock["authToken"],
                Path(item["worktree"]),
                item["nvim_socket"],
                nvim,
            )
        )
    try:
        yield out[0], out[1]
    finally:
        for inst in out:
            await inst.nvim.close()


async def _tabs_where(inst: Inst, ok: Callable[[int], bool]) -> bool:
    return ok(await inst.tabs())


async def start_diff(client: Any, inst: Inst, target: Path, contents: str, tab: str) -> asyncio.Task[list[str]]:
    """Call openDiff (it blocks until the user decides) and wait until the diff tab is up in that Neovim."""
    call = asyncio.create_task(
        client.call_texts(
            "openDiff",
            {
                "old_file_path": str(target),
                "new_file_path": str(target),
                "new_file_contents": contents,
                "tab_name": tab,
            },
        )
    )
    await aretry_until(lambda: _tabs_where(inst, lambda n: n >= 2), 10, "diff tab open")
    return call


async def test_selection_reaches_only_its_own_instance(pair: tuple[Inst, Inst]) -> None:
    a, b = pair
    async with ide_client(a.port, a.token) as ca, ide_client(b.port, b.token) as cb:
        await a.cmd(f"edit {a.worktree / 'calc.py'}")
        await a.nvim.request("nvim_input", "ggVj")
        params = await ca.received.wait_for("selection_changed", lambda p: p["text"].startswith("def add"))
        assert params["filePath"] == str(a.worktree / "calc.py")
        assert params["selection"]["start"] == {"line": 0, "character": 0}
        assert params["selection"]["end"]["line"] == 1
        # B's client saw none of A's files.
        assert all(str(a.worktree) not in p.get("filePath", "") for p in cb.received.of("selection_changed"))


async def test_open_diff_in_b_only_accept_returns_file_saved(pair: tuple[Inst, Inst]) -> None:
    a, b = pair
    target = b.worktree / "calc.py"
    before = target.read_bytes()
    proposed = "def add(a, b):\n    return a + b + 0\n"
    async with ide_client(b.port, b.token) as cb:
        call = await start_diff(cb, b, target, proposed, "✻ [Claude Code] calc.py (abc123) ⧉")
        assert await a.tabs() == 1
        assert not call.done()
        await b.cmd("ClaudeCodeDiffAccept")
        texts = await asyncio.wait_for(call, 10)
        assert texts == ["FILE_SAVED", proposed]
        assert target.read_bytes() == before  # the CLI writes the file, never the editor
        assert await cb.call_texts("close_tab", {"tab_name": "✻ [Claude Code] calc.py (abc123) ⧉"}) == ["TAB_CLOSED"]
        await aretry_until(lambda: _tabs_where(b, lambda n: n <= 1), 10, "diff tab closed")


async def test_open_diff_reject_leaves_file_unchanged(pair: tuple[Inst, Inst]) -> None:
    _, b = pair
    target = b.worktree / "calc.py"
    before = target.read_bytes()
    async with ide_client(b.port, b.token) as cb:
        call = await start_diff(cb, b, target, "x = 1\n", "tab-r")
        await b.cmd("ClaudeCodeDiffDeny")
        assert await asyncio.wait_for(call, 10) == ["DIFF_REJECTED", "tab-r"]
        assert target.read_bytes() == before


async def test_client_disconnect_mid_diff_rejects_and_closes_ui(pair: tuple[Inst, Inst]) -> None:
    _, b = pair
    target = b.worktree / "calc.py"
    async with ide_client(b.port, b.token) as cb:
        call = await start_diff(cb, b, target, "y\n", "t")
    await aretry_until(lambda: _tabs_where(b, lambda n: n <= 1), 10, "diff tab closed")
    assert call.done()


async def test_send_to_reaches_the_named_instance_only(pair: tuple[Inst, Inst]) -> None:
    a, b = pair
    async with ide_client(a.port, a.token) as ca, ide_client(b.port, b.token) as cb:
        await a.cmd(f"edit {a.worktree / 'calc.py'}")
        await a.cmd("1,2ClaudeCodeSendTo feat-b")
        params = await cb.received.wait_for("at_mentioned")
        assert params == {"filePath": str(a.worktree / "calc.py"), "lineStart": 0, "lineEnd": 1}
        await asyncio.sleep(0)
        assert ca.received.of("at_mentioned") == []


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({AUTH: "wrong-token-0123456789"}, 401),
        ({AUTH: ""}, 401),
        ({AUTH: "x" * 600}, 401),
    ],
)
async def test_refused_connects(pair: tuple[Inst, Inst], headers: dict[str, str], status: int) -> None:
    a, _ = pair
    with pytest.raises(websockets.InvalidStatus) as info:
        async with connect(f"ws://127.0.0.1:{a.port}", subprotocols=[Subprotocol("mcp")], additional_headers=headers):
            pass
    assert info.value.response.status_code == status


async def test_origin_and_other_instances_token_refused(pair: tuple[Inst, Inst]) -> None:
    a, b = pair
    with pytest.raises(websockets.InvalidStatus) as info:
        async with connect(
            f"ws://127.0.0.1:{a.port}",
            subprotocols=[Subprotocol("mcp")],
            additional_headers={AUTH: a.token},
            origin="http://evil.example",  # type: ignore[arg-type]
        ):
            pass
    assert info.value.response.status_code == 403
    with pytest.raises(websockets.InvalidStatus):
        async with connect(f"ws://127.0.0.1:{a.port}", additional_headers={AUTH: b.token}):
            pass


async def test_malformed_and_unknown_get_errors_and_connection_survives(pair: tuple[Inst, Inst]) -> None:
    a, _ = pair
    async with connect(
        f"ws://127.0.0.1:{a.port}", subprotocols=[Subprotocol("mcp")], additional_headers={AUTH: a.token}
    ) as ws:
        assert ws.subprotocol == "mcp"
        await ws.send("{not json")
        assert json.loads(await ws.recv())["error"]["code"] == -32700
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "no/such"}))
        reply = json.loads(await ws.recv())
        assert reply["id"] == 1 and reply["error"]["code"] == -32601
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "nope"}}))
        assert json.loads(await ws.recv())["error"]["code"] == -32601
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "ping"}))
        assert json.loads(await ws.recv()) == {"jsonrpc": "2.0", "id": 3, "result": {}}


async def test_every_tool_answers_in_documented_shape(pair: tuple[Inst, Inst]) -> None:
    a, _ = pair
    calc = str(a.worktree / "calc.py")
    async with ide_client(a.port, a.token) as ca:
        tools = {t.name for t in (await ca.session.list_tools()).tools}
        assert {
            "openDiff",
            "openFile",
            "getDiagnostics",
            "closeAllDiffTabs",
        } <= tools and "close_tab" not in tools

        opened = await ca.call_json(
            "openFile",
            {"filePath": calc, "preview": False, "startText": "", "endText": "",
             "selectToEndOfLine": False, "makeFrontmost": False},
        )  # fmt: skip
        assert opened["success"] is True and opened["filePath"] == calc and opened["lineCount"] == 2
        assert (await ca.call_texts("openFile", {"filePath": calc}))[0].startswith("Opened file")

        await a.lua(
            "local b = vim.fn.bufnr(...) ; local ns = vim.api.nvim_create_namespace('t')"
            " vim.diagnostic.set(ns, b, {{lnum=1, col=4, message='boom', severity=vim.diagnostic.severity.ERROR,"
            " source='t', code=7}})",
            calc,
        )
        diags = await ca.call_json("getDiagnostics", {"uri": "file://" + calc})
        assert diags[0]["uri"] == "file://" + calc
        d = diags[0]["diagnostics"][0]
        assert (
            d["severity"] == "Error" and d["message"] == "boom" and d["range"]["start"] == {"line": 1, "character": 4}
        )
        all_diags = await ca.call_json("getDiagnostics", {})
        assert isinstance(all_diags, list)

        editors = await ca.call_json("getOpenEditors")
        assert any(t["uri"] == "file://" + calc for t in editors["tabs"])
        folders = await ca.call_json("getWorkspaceFolders")
        assert folders["success"] is True
        sel = await ca.call_json("getCurrentSelection")
        assert sel["success"] is True and sel["filePath"] == calc
        await ca.call_json("getLatestSelection")
        dirty = await ca.call_json("checkDocumentDirty", {"filePath": calc})
        assert dirty == {"success": True, "filePath": calc, "isDirty": False, "isUntitled": False}
        saved = await ca.call_json("saveDocument", {"filePath": calc})
        assert saved["success"] is True and saved["saved"] is True
        missing = await ca.call_json("checkDocumentDirty", {"filePath": "/nope"})
        assert missing["success"] is False
        assert await ca.call_texts("closeAllDiffTabs") == ["CLOSED_0_DIFF_TABS"]
        assert await ca.call_texts("close_tab", {"tab_name": "nothing"}) == ["TAB_CLOSED"]

"""Line comments (:ClaudeCodeComment and friends) from a real headless Neovim of an instance, against the real
controller: shown beside their lines, edited, deleted, listed, kept across a controller restart, and never seen by
another instance."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.env import Env, new_attached
from tests.helpers.waiting import aretry_until, retry_until
from tmuxclaude.adapters.nvim import NvimClient

pytestmark = pytest.mark.timeout(90)

TEXT = "one\ntwo\nthree\nfour\n"


@pytest.fixture
async def two(world: Env, repo: Path) -> AsyncIterator[list[dict[str, Any]]]:
    items = await asyncio.to_thread(new_attached, world, repo, "feat-a", "feat-b")
    for item in items:
        Path(item["worktree"], "notes.txt").write_text(TEXT)
    yield items


async def _marks(nvim: NvimClient) -> list[list[Any]]:
    """(line, virtual text) of every comment shown in the current buffer."""
    marks: list[list[Any]] = await nvim.exec_lua(
        "local ns = vim.api.nvim_create_namespace('tmuxclaude_comments') "
        "local out = {} for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, {details = true})) do "
        "out[#out + 1] = {m[2] + 1, m[4].virt_text[1][1]} end return out"
    )
    return marks


async def _items(nvim: NvimClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = await nvim.exec_lua("return require('tmuxclaude.comments').items")
    return items


async def _type(nvim: NvimClient, keys: str) -> None:
    await nvim.request("nvim_input", keys)


async def test_add_edit_delete_list_persist_and_isolate(world: Env, two: list[dict[str, Any]]) -> None:
    a, b = two
    nvim = await NvimClient.connect(a["nvim_socket"])
    try:
        await nvim.request("nvim_command", f"edit {a['worktree']}/notes.txt")
        # A range, typed like a user; and a visual selection through the <Plug> mapping, text asked for.
        await _type(nvim, ":2,3ClaudeCodeComment rename these<CR>")
        await aretry_until(lambda: _has_marks(nvim, 1), 10, "the first comment shown")
        await nvim.exec_lua("vim.keymap.set('x', 'gc', '<Plug>(tmuxclaude-comment)', {remap = true})")
        await _type(nvim, "4GVgc")
        await aretry_until(lambda: _prompting(nvim), 10, "vim.ui.input asking for the text")
        await _type(nvim, "drop this<CR>")
        await aretry_until(lambda: _has_marks(nvim, 2), 10, "the second comment shown")
        marks = await _marks(nvim)
        assert [m[0] for m in marks] == [2, 4]
        assert "rename these [2-3]" in marks[0][1] and "drop this [4]" in marks[1][1]
        items = await _items(nvim)
        assert [(i["path"], i["line1"], i["line2"], i["quoted"], i["state"]) for i in items] == [
            ("notes.txt", 2, 3, ["two", "three"], "open"),
            ("notes.txt", 4, 4, ["four"], "open"),
        ]

        # Edit and delete the comment under the cursor.
        await nvim.request("nvim_win_set_cursor", 0, [3, 0])
        await _type(nvim, ":ClaudeCodeCommentEdit rename both<CR>")
        await aretry_until(lambda: _mark_says(nvim, "rename both"), 10, "the edited comment shown")
        await nvim.request("nvim_win_set_cursor", 0, [4, 0])
        await _type(nvim, ":ClaudeCodeCommentDelete<CR>")
        await aretry_until(lambda: _has_marks(nvim, 1, exact=True), 10, "the deleted comment gone")

        # The list: the quickfix list holds it, at its lines.
        await _type(nvim, ":ClaudeCodeComments<CR>")

        async def listed() -> list[Any]:
            qf: list[Any] = await nvim.exec_lua(
                "return vim.tbl_map(function(e) return {e.lnum, e.end_lnum, e.text} end, vim.fn.getqflist())"
            )
            return qf

        await aretry_until(lambda: _truthy(listed), 10, "the quickfix list")
        assert await listed() == [[2, 3, "[open] rename both"]]

        # Kept in a private file of the controller's state dir, outside every worktree.
        files = list(Path(world.vars["XDG_STATE_HOME"]).glob(f"tmuxclaude/*/comments-{a['id']}.json"))
        assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
        assert json.loads(files[0].read_text())["comments"][0]["text"] == "rename both"
    finally:
        await nvim.close()

    # Instance B sees none of it: not in its list, not in its Neovim, not through the control socket.
    nvim_b = await NvimClient.connect(b["nvim_socket"])
    try:
        await nvim_b.request("nvim_command", f"edit {b['worktree']}/notes.txt")
        await nvim_b.exec_lua("require('tmuxclaude.comments').fetch()")
        assert await _items(nvim_b) == []
        assert await _marks(nvim_b) == []
        # A's file opened in B's Neovim shows nothing either (the comment belongs to A's instance).
        await nvim_b.request("nvim_command", f"noswapfile edit {a['worktree']}/notes.txt")
        assert await _marks(nvim_b) == []
    finally:
        await nvim_b.close()

    # A controller restart (killed, started again by the next command): Neovim A is attached again and shows it.
    pid = json.loads(world.cli("daemon", "status", "--json").stdout)["pid"]
    os.kill(pid, signal.SIGKILL)
    await asyncio.to_thread(
        retry_until, lambda: world.cli("daemon", "status", check=False).returncode == 1, 10, "controller gone"
    )
    await asyncio.to_thread(world.cli, "ls")
    nvim = await NvimClient.connect(a["nvim_socket"])
    try:

        async def restored() -> bool:
            channel = await nvim.exec_lua("return require('tmuxclaude').state.channel")
            return bool(channel) and [i["text"] for i in await _items(nvim)] == ["rename both"]

        await aretry_until(restored, 20, "comments back after the controller restart")
        await nvim.request("nvim_command", "cclose")  # the list had the cursor; the file is drawn already
        marks = await _marks(nvim)
        assert [m[0] for m in marks] == [2] and "rename both" in marks[0][1]
    finally:
        await nvim.close()


async def test_a_comment_outside_the_worktree_or_on_no_file_is_refused(world: Env, two: list[dict[str, Any]]) -> None:
    a = two[0]
    nvim = await NvimClient.connect(a["nvim_socket"])
    try:
        await nvim.request("nvim_command", "enew")
        await _type(nvim, ":ClaudeCodeComment nothing here<CR>")
        await aretry_until(lambda: _errmsg(nvim, "not a file"), 10, "the error for a scratch buffer")
        outside = Path(world.root) / "outside.txt"
        outside.write_text("x\n")
        await nvim.request("nvim_command", f"edit {outside}")
        await _type(nvim, ":ClaudeCodeComment elsewhere<CR>")
        await aretry_until(lambda: _errmsg(nvim, "worktree"), 10, "the error for a file of no worktree")
        assert await _items(nvim) == []
    finally:
        await nvim.close()


async def _truthy(fn: Any) -> bool:
    return bool(await fn())


async def _errmsg(nvim: NvimClient, word: str) -> bool:
    return word in str(await nvim.exec_lua("return vim.v.errmsg"))


async def _prompting(nvim: NvimClient) -> bool:
    mode = await nvim.request("nvim_get_mode")
    return bool(mode.get("mode") == "c")


async def _has_marks(nvim: NvimClient, n: int, *, exact: bool = False) -> bool:
    count = len(await _marks(nvim))
    return count == n if exact else count >= n


async def _mark_says(nvim: NvimClient, text: str) -> bool:
    return any(text in m[1] for m in await _marks(nvim))

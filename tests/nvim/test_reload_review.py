"""reload.lua and review.lua against a real headless Neovim (0.7+): files written behind Neovim's back show up
at once without a prompt, unsaved work is never lost, and :ClaudeCodeReview shows and reverts changes."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.waiting import aretry_until
from tests.nvim.nvim_helpers import NvimProc, Recorder
from tmuxclaude.adapters.nvim import NvimBridge

pytestmark = pytest.mark.timeout(30)

OLD = "def add(a, b):\n    return a + b\n\n# one\n# two\n# three\n"
NEW = "def add(a, b):\n    return a + b + 1\n\n# one\n# two\n# three\n"


@pytest.fixture
def calc(nvim_proc: NvimProc) -> Path:
    f = nvim_proc.workdir / "calc.py"
    f.write_text(OLD, encoding="utf-8")
    return f


async def lua(bridge: NvimBridge, code: str, *args: Any) -> Any:
    return await bridge.client.exec_lua(code, *args)


async def buffer_text(bridge: NvimBridge, path: Path) -> str:
    lines = await lua(
        bridge, "return vim.api.nvim_buf_get_lines(require('tmuxclaude.util').find_buf(...), 0, -1, false)", str(path)
    )
    return "\n".join(lines) + "\n"


async def messages(bridge: NvimBridge) -> str:
    return str(await bridge.client.request("nvim_exec", "messages", True))


async def open_at(bridge: NvimBridge, path: Path, line: int) -> None:
    await bridge.client.request("nvim_command", f"edit {path}")
    await lua(bridge, "vim.api.nvim_win_set_cursor(0, {...})", line, 2)


def write_behind(path: Path, text: str, *, atomic: bool = False) -> float:
    """Write like another process would (in place, or to a temp file renamed over it); returns when."""
    if atomic:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    else:
        path.write_text(text, encoding="utf-8")
    return time.monotonic()


@pytest.mark.parametrize(("atomic", "autoread"), [(False, True), (True, True), (False, False)],
                         ids=["in-place", "rename", "noautoread"])  # fmt: skip
async def test_unmodified_buffer_shows_a_shell_write_within_a_second_keeping_the_cursor(
    bridge: NvimBridge, calc: Path, recorder: Recorder, atomic: bool, autoread: bool
) -> None:
    await bridge.client.request("nvim_set_option", "autoread", autoread)
    await open_at(bridge, calc, 5)
    t0 = write_behind(calc, NEW, atomic=atomic)
    await aretry_until(lambda: _is(bridge, calc, NEW), 1.0, "buffer reloaded by the file watcher")
    assert time.monotonic() - t0 < 1.0
    assert await lua(bridge, "return vim.api.nvim_win_get_cursor(0)") == [5, 2]
    assert not await lua(bridge, "return vim.bo.modified")
    # The old text went to the controller (kept for :ClaudeCodeReview while a turn runs).
    event = await recorder.wait_for(lambda e: e.get("type") == "preimage")
    assert event["filePath"] == str(calc) and event["text"] == OLD
    # No prompt is pending: Neovim still answers, in normal mode.
    assert (await bridge.client.request("nvim_get_mode"))["blocking"] is False


async def _is(bridge: NvimBridge, path: Path, text: str) -> bool:
    return await buffer_text(bridge, path) == text


async def test_unsaved_changes_survive_a_write_and_the_user_is_told(bridge: NvimBridge, calc: Path) -> None:
    await bridge.client.request("nvim_set_option", "columns", 120)
    await open_at(bridge, calc, 4)
    await lua(bridge, "vim.api.nvim_buf_set_lines(0, 3, 4, false, {'# mine, unsaved'})")
    write_behind(calc, NEW)
    # The controller's PostToolUse path: check at once, naming the writer.
    assert await lua(bridge, "return require('tmuxclaude.reload').check(...)", str(calc), "Claude") is True
    await aretry_until(lambda: _told(bridge), 2.0, "the conflict message")
    text = await messages(bridge)
    assert "calc.py changed on disk by Claude; your unsaved text is kept: :ClaudeCodeCompare" in text
    assert "# mine, unsaved" in await buffer_text(bridge, calc)
    assert await lua(bridge, "return vim.bo.modified") is True
    assert calc.read_text() == NEW
    assert (await bridge.client.request("nvim_get_mode"))["blocking"] is False
    # A plain :w fails at once (no prompt that would block) and leaves the new file alone...
    ok, err = await lua(bridge, "return {pcall(vim.cmd, 'write')}")
    assert ok is False and "changed on disk" in err and ":ClaudeCodeCompare" in err
    assert calc.read_text() == NEW
    # ...:w! writes the user's text on every Neovim without a prompt (0.7 would ask whether to write over a file
    # changed since it was read: the user chose already), and says in one line that the change on disk is gone.
    await bridge.client.request("nvim_input", ":write!\r")
    await aretry_until(lambda: _written(calc), 5.0, "the user's text written")
    await aretry_until(lambda: _overwrite_told(bridge), 2.0, "the overwrite message")
    assert (await bridge.client.request("nvim_get_mode"))["blocking"] is False
    assert await lua(bridge, "return vim.bo.modified") is False
    # The conflict is over: the next plain :w writes.
    await lua(bridge, "vim.api.nvim_buf_set_lines(0, 0, 1, false, {'# again'})")
    assert (await lua(bridge, "return {pcall(vim.cmd, 'write')}"))[0] is True
    assert calc.read_text().startswith("# again")


async def _overwrite_told(bridge: NvimBridge) -> bool:
    return "calc.py: your text was written over the change made on disk" in await messages(bridge)


async def _written(calc: Path) -> bool:
    return "# mine, unsaved" in calc.read_text()


async def _told(bridge: NvimBridge) -> bool:
    return "changed on disk" in await messages(bridge)


async def test_compare_shows_buffer_against_disk(bridge: NvimBridge, calc: Path) -> None:
    await open_at(bridge, calc, 1)
    await lua(bridge, "vim.api.nvim_buf_set_lines(0, 0, 1, false, {'# mine'})")
    write_behind(calc, NEW)
    await lua(bridge, "require('tmuxclaude.reload').check(...)", str(calc), "Claude")
    await bridge.client.request("nvim_command", "ClaudeCodeCompare")
    wins = await tiled_windows(bridge)
    assert [w["diff"] for w in wins] == [True, True]
    assert wins[0]["lines"][0] == "# mine"
    assert wins[1]["name"].endswith(str(calc)) and wins[1]["lines"][1] == "    return a + b + 1"


async def test_a_deleted_file_keeps_its_buffer(bridge: NvimBridge, calc: Path) -> None:
    await open_at(bridge, calc, 1)
    calc.unlink()
    await lua(bridge, "require('tmuxclaude.reload').check(...)", str(calc), "Claude")
    await aretry_until(lambda: _deleted_told(bridge), 2.0, "the deleted message")
    assert await buffer_text(bridge, calc) == OLD


async def _deleted_told(bridge: NvimBridge) -> bool:
    return "deleted on disk" in await messages(bridge)


async def test_watchers_follow_open_buffers(bridge: NvimBridge, calc: Path, nvim_proc: NvimProc) -> None:
    other = nvim_proc.workdir / "sub"
    other.mkdir()
    (other / "x.txt").write_text("x\n")
    await bridge.client.request("nvim_command", f"edit {calc} | split {other / 'x.txt'}")
    assert await lua(bridge, "return require('tmuxclaude.reload').watched()") == 2
    await bridge.client.request("nvim_command", f"bwipeout {other / 'x.txt'}")
    await aretry_until(lambda: _watched(bridge, 1), 2.0, "the watcher of a directory without buffers stopped")


async def _watched(bridge: NvimBridge, n: int) -> bool:
    return bool(await lua(bridge, "return require('tmuxclaude.reload').watched()") == n)


async def tiled_windows(bridge: NvimBridge) -> list[dict[str, Any]]:
    """The current tab's tiled windows (floats left out): buffer name, 'diff', all lines."""
    result: list[dict[str, Any]] = await lua(
        bridge,
        """
        local out = {}
        local function tiled(x) return vim.api.nvim_win_get_config(x).relative == "" end
        for _, w in ipairs(vim.tbl_filter(tiled, vim.api.nvim_tabpage_list_wins(0))) do
          local b = vim.api.nvim_win_get_buf(w)
          out[#out + 1] = {name = vim.api.nvim_buf_get_name(b), diff = vim.wo[w].diff,
                           lines = vim.api.nvim_buf_get_lines(b, 0, -1, false)}
        end
        return out
        """,
    )
    return result


async def test_review_shows_each_file_as_a_diff_and_reverts_a_hunk_or_a_file(
    bridge: NvimBridge, recorder: Recorder, nvim_proc: NvimProc, calc: Path
) -> None:
    calc.write_text(NEW)
    created = nvim_proc.workdir / "new.txt"
    created.write_text("made by Claude\n")
    recorder.replies["review"] = [
        {
            "path": str(calc),
            "old": OLD.encode(),
            "existed": True,
            "exists": True,
            "kept": True,
            "root": str(calc.parent),
        },
        {"path": str(created), "existed": False, "exists": True, "kept": True, "root": str(calc.parent)},
    ]
    await bridge.client.request("nvim_command", "ClaudeCodeReview turn")
    assert recorder.requests[-1] == ("review", {"cmd": "review", "arg": "turn"})
    wins = await tiled_windows(bridge)
    assert await lua(bridge, "return #vim.api.nvim_list_tabpages()") == 2
    assert [w["diff"] for w in wins] == [True, True]
    assert wins[0]["name"] == f"tmuxclaude://before/{calc}" and wins[0]["lines"][1] == "    return a + b"
    assert wins[1]["name"] == str(calc) and wins[1]["lines"][1] == "    return a + b + 1"
    assert "review 1/2 this turn: changed calc.py" in await messages(bridge)
    # Hunk revert: the cursor is on the change in the file window; `do` takes the old hunk back.
    assert await lua(bridge, "return vim.api.nvim_win_get_cursor(0)[1]") == 2
    await bridge.client.request("nvim_command", "diffget")
    assert (await buffer_text(bridge, calc)) == OLD
    await bridge.client.request("nvim_command", "write")
    assert calc.read_text() == OLD
    # Next file: one Claude created; reverting it removes it.
    await bridge.client.request("nvim_command", "ClaudeCodeReview next")
    wins = await tiled_windows(bridge)
    assert wins[0]["lines"] == [""] and wins[1]["name"] == str(created)
    await bridge.client.request("nvim_command", "ClaudeCodeReview revert")
    assert not created.exists()
    assert await lua(bridge, "return #vim.api.nvim_list_tabpages()") == 1
    # The user's own window is not left in diff mode.
    assert await lua(bridge, "return vim.wo.diff") is False


async def test_review_revert_restores_the_whole_file(bridge: NvimBridge, recorder: Recorder, calc: Path) -> None:
    calc.write_text(NEW)
    recorder.replies["review"] = [
        {
            "path": str(calc),
            "old": OLD.encode(),
            "existed": True,
            "exists": True,
            "kept": True,
            "root": str(calc.parent),
        }
    ]
    await bridge.client.request("nvim_command", "ClaudeCodeReview session")
    await bridge.client.request("nvim_command", "ClaudeCodeReview revert")
    assert calc.read_text() == OLD
    assert await lua(bridge, "return #vim.api.nvim_list_tabpages()") == 1


async def test_review_revert_never_writes_through_a_symlink_out_of_the_worktree(
    bridge: NvimBridge, recorder: Recorder, nvim_proc: NvimProc, tmp_path: Path
) -> None:
    """Issue 17 finding 6: a file of the worktree that is a symlink to a file elsewhere (or sits in a symlinked
    directory): revert refuses, naming it, and writes nothing outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "victim.txt"
    target.write_text(NEW)
    (nvim_proc.workdir / "link.txt").symlink_to(target)
    (nvim_proc.workdir / "linkdir").symlink_to(outside)
    root = str(nvim_proc.workdir)
    recorder.replies["review"] = [
        {"path": str(nvim_proc.workdir / "link.txt"), "old": OLD.encode(), "existed": True, "exists": True,
         "kept": True, "root": root},
        {"path": str(nvim_proc.workdir / "linkdir" / "victim.txt"), "existed": False, "exists": True, "kept": True,
         "root": root},
    ]  # fmt: skip
    await bridge.client.request("nvim_command", "ClaudeCodeReview turn")
    # Refused as a one-line error message (never a prompt): v:errmsg and :messages say why.
    await bridge.client.request("nvim_command", "ClaudeCodeReview revert")
    assert re.search(r"link\.txt leads out of the worktree", str(await lua(bridge, "return vim.v.errmsg")))
    await bridge.client.request("nvim_command", "ClaudeCodeReview next")
    # Refused as a one-line error message (never a prompt): v:errmsg and :messages say why.
    await bridge.client.request("nvim_command", "ClaudeCodeReview revert")
    assert re.search(r"victim\.txt leads out of the worktree", str(await lua(bridge, "return vim.v.errmsg")))
    assert target.read_text() == NEW


async def test_review_revert_never_discards_unsaved_text(bridge: NvimBridge, recorder: Recorder, calc: Path) -> None:
    """Issue 17 finding 6: the file's buffer holds unsaved edits of the user's: revert refuses and says so."""
    calc.write_text(NEW)
    await bridge.client.request("nvim_command", f"edit {calc}")
    await lua(bridge, "vim.api.nvim_buf_set_lines(0, 0, 1, false, {'# mine, unsaved'})")
    recorder.replies["review"] = [
        {
            "path": str(calc),
            "old": OLD.encode(),
            "existed": True,
            "exists": True,
            "kept": True,
            "root": str(calc.parent),
        }
    ]
    await bridge.client.request("nvim_command", "ClaudeCodeReview turn")
    # Refused as a one-line error message (never a prompt): v:errmsg and :messages say why.
    await bridge.client.request("nvim_command", "ClaudeCodeReview revert")
    assert re.search(r"calc\.py has unsaved changes", str(await lua(bridge, "return vim.v.errmsg")))
    assert (await buffer_text(bridge, calc)).startswith("# mine, unsaved\n") and calc.read_text() == NEW


async def test_review_with_nothing_to_show_says_so(bridge: NvimBridge, recorder: Recorder) -> None:
    recorder.replies["review"] = []
    await bridge.client.request("nvim_command", "ClaudeCodeReview turn")
    assert "Claude changed no file in this turn" in await messages(bridge)
    assert await lua(bridge, "return #vim.api.nvim_list_tabpages()") == 1


async def test_messages_never_prompt_whatever_the_width(bridge: NvimBridge) -> None:
    """A message wider than the command line would raise "Press ENTER", which blocks every RPC: the line shown is
    cut in the middle, and a floating window shows it whole."""
    await bridge.client.request("nvim_set_option", "columns", 40)
    long = "a-very-long-file-name-" + "x" * 60
    await lua(bridge, "local r = require('tmuxclaude.reload') r.say(...) r.say('second')", long)
    line = await aretry_until(lambda: _last_message(bridge), 2.0, "the message")
    assert len(line) <= 28 and line.startswith("a-very-long") and line.endswith("second")
    assert await lua(bridge, "return require('tmuxclaude.reload').shown()") == f"tmuxclaude: {long}second"
    assert (await bridge.client.request("nvim_get_mode"))["blocking"] is False


async def _last_message(bridge: NvimBridge) -> str | None:
    lines = (await messages(bridge)).strip().splitlines()
    return lines[-1] if lines else None

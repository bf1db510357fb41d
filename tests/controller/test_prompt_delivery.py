"""A review prompt is typed into an instance's Claude pane only when its hooks say it is idle (real controller,
real tmux, the recorder standing in for Claude: what lands in its pane is what its terminal echoes)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.env import Env, ls_json
from tests.helpers.waiting import aretry_until, retry_until
from tmuxclaude.adapters.nvim import NvimClient

pytestmark = pytest.mark.timeout(90)


def run_hook(env: Env, item: dict[str, Any], event: str) -> None:
    """Run the hook exactly as Claude Code runs it: the command from the instance's --settings file."""
    settings = Path(env.vars["XDG_RUNTIME_DIR"]).glob(f"tmuxclaude/*/{item['id']}.settings.json")
    hooks = json.loads(next(settings).read_text())["hooks"]
    command = hooks[event][0]["hooks"][0]["command"]
    body = json.dumps({"session_id": "sess-0001", "hook_event_name": event})
    out = subprocess.run(["sh", "-c", command], input=body, capture_output=True, text=True, timeout=10, check=False)
    assert out.returncode == 0


def screen(env: Env, pane: str) -> str:
    return env.tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", pane)


async def test_review_send_waits_for_idle_then_types_one_prompt(world: Env, repo: Path) -> None:
    await asyncio.to_thread(world.cli, "new", "-d", "feat-a", cwd=repo)
    item = await asyncio.to_thread(
        retry_until, lambda: next((i for i in ls_json(world) if i["nvim_attached"]), None), 20, "Neovim attached"
    )
    Path(item["worktree"], "notes.txt").write_text("one\ntwo\n")
    nvim = await NvimClient.connect(item["nvim_socket"])
    try:
        await nvim.request("nvim_command", f"edit {item['worktree']}/notes.txt")
        await nvim.request("nvim_command", "2ClaudeCodeComment say \x1b[31mtwo\x1b[0m louder")
        await nvim.request("nvim_command", "1ClaudeCodeComment first line")
        assert len(await nvim.exec_lua("return require('tmuxclaude.comments').items")) == 2
    finally:
        await nvim.close()

    run_hook(world, item, "UserPromptSubmit")  # Claude is busy with a turn
    await asyncio.to_thread(retry_until, lambda: ls_json(world)[0]["state"] == "busy", 10, "busy")
    out = (await asyncio.to_thread(world.cli, "review", "send", "feat-a")).stdout
    assert "queued: delivered when feat-a is idle" in out
    # A second send while it waits repeats nothing.
    again = await asyncio.to_thread(world.cli, "review", "send", "feat-a", check=False)
    assert again.returncode != 0 and "not queued already" in again.stderr
    assert "Review comments" not in screen(world, item["claude_pane"])

    run_hook(world, item, "Stop")  # the turn is over: the prompt goes in now
    shown = await aretry_until(
        lambda: _has(world, item["claude_pane"], "first line"), 10, "the prompt typed into the Claude pane"
    )
    assert "Review comments from the user on your changes (2 comments" in shown
    assert "notes.txt line 2:" in shown and "say two louder" in shown
    assert "\x1b" not in shown
    saved = next(Path(world.vars["XDG_STATE_HOME"]).glob(f"tmuxclaude/*/comments-{item['id']}.json"))

    def states() -> set[str]:
        return {c["state"] for c in json.loads(saved.read_text())["comments"]}

    await asyncio.to_thread(retry_until, lambda: states() == {"sent"}, 10, "marked sent once typed")
    nvim = await NvimClient.connect(item["nvim_socket"])
    try:

        async def told() -> bool:
            said = await nvim.exec_lua("return require('tmuxclaude.reload').shown() .. vim.fn.execute('messages')")
            return "delivered to feat-a's Claude" in str(said)

        await aretry_until(told, 10, "Neovim told the queued review went in")
        # Its virtual text says sent now (pushed by the controller, no request of Neovim's).
        assert {c["state"] for c in await nvim.exec_lua("return require('tmuxclaude.comments').items")} == {"sent"}
    finally:
        await nvim.close()
    nothing = await asyncio.to_thread(world.cli, "review", "send", "feat-a", check=False)
    assert "no open comments for feat-a" in nothing.stderr


async def _has(env: Env, pane: str, text: str) -> str | None:
    now = await asyncio.to_thread(screen, env, pane)
    return now if text in now else None


@pytest.mark.parametrize("pane", ["-t", "#{pane_id}", "%1;", "%999", "main:9.9", ""])
def test_send_pane_refuses_what_is_not_a_pane_of_this_server(world: Env, repo: Path, pane: str) -> None:
    world.cli("new", "-d", "feat-a", cwd=repo)
    out = world.cli("send", "--to", "feat-a", f"--pane={pane}", check=False)
    assert out.returncode != 0 and "pane" in out.stderr and out.stderr.count("\n") == 1


async def test_send_terminal_without_a_pane_offers_the_other_panes(world: Env, repo: Path) -> None:
    await asyncio.to_thread(world.cli, "new", "-d", "feat-a", cwd=repo)
    item = await asyncio.to_thread(
        retry_until, lambda: next((i for i in ls_json(world) if i["nvim_attached"]), None), 20, "Neovim attached"
    )
    world.tmux("new-window", "-d", "-n", "logs", "--", "printf '\\033[31mFAIL\\033[0m test_x\\n'; exec sleep 600")
    logs = world.tmux("list-panes", "-a", "-F", "#{pane_id} #{window_name}")
    pane = next(line.split()[0] for line in logs.splitlines() if line.endswith(" logs"))
    await asyncio.to_thread(retry_until, lambda: "FAIL" in screen(world, pane), 10, "the logs pane printed")
    nvim = await NvimClient.connect(item["nvim_socket"])
    try:
        await nvim.exec_lua(
            "_G.offered = {} vim.ui.select = function(items, opts, cb) "
            "for _, p in ipairs(items) do table.insert(_G.offered, p.id) end "
            "for _, p in ipairs(items) do if p.window == 'logs' then cb(p) end end end"
        )
        await nvim.request("nvim_input", ":ClaudeCodeSendTerminal<CR>")
        files = await aretry_until(lambda: _context_files(world), 10, "the pane's output in a file")
        offered = await nvim.exec_lua("return _G.offered")
    finally:
        await nvim.close()
    # Every pane but the instance's own two (its Neovim and its Claude).
    assert pane in offered and item["claude_pane"] not in offered and item["nvim_pane"] not in offered
    assert files[0].read_text() == "FAIL test_x\n"
    assert not files[0].resolve().is_relative_to(Path(item["worktree"]).resolve())


async def _context_files(env: Env) -> list[Path] | None:
    return sorted(Path(env.vars["XDG_RUNTIME_DIR"]).rglob("context/*.txt")) or None

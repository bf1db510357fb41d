"""Every name and value the Lua side shares with Python is the one Python owns: the Lua side is loaded in each
tested Neovim and asked (tmuxclaude.names, the tools it answers, what init/config/selection actually use), and
its sources hold no literal of a shared name outside names.lua."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import click

from tmuxclaude import __version__
from tmuxclaude.adapters.nvim import NvimBridge, runtime_dir
from tmuxclaude.cli.app import cli
from tmuxclaude.controller.commands import TABLE
from tmuxclaude.model.config import IdeConfig
from tmuxclaude.protocol import jsonrpc, nvim_channel
from tmuxclaude.protocol.tools import CONTROLLER_TOOLS, TOOLS

REPO_ROOT = Path(__file__).resolve().parents[2]
LUA_DIR = runtime_dir() / "lua" / "tmuxclaude"

ASK_LUA = """
local names = require('tmuxclaude.names')
local data = {}
for key, value in pairs(names) do
  if type(value) ~= 'function' then
    data[key] = value
  end
end
local kill = names.argv(names.cli.kill, nil, 'x')
local out = {
  names = data,
  argv = { kill, names.argv(names.cli.kill), names.cli.kill },
  tools = require('tmuxclaude.tools').names(),
  version = require('tmuxclaude').version,
  config_debounce = require('tmuxclaude.config').defaults.debounce_ms,
  selection_debounce = require('tmuxclaude.selection').state.debounce_ms,
}
io.stdout:write(vim.fn.json_encode(out) .. '\\n')
vim.cmd('qa!')
"""

LITERALS = {
    "a command name": re.compile(r"\bcmd\s*=\s*['\"]|\b(?:ask|controller_or_cli)\(\s*['\"]"),
    "a JSON-RPC code": re.compile(r"-32\d\d\d"),
    "an RPC method": re.compile(r"['\"]tmuxclaude_(?:request|event)['\"]"),
    "the version": re.compile(r"\bversion\s*=\s*['\"]\d"),
    "the debounce default": re.compile(r"\bdebounce_ms\s*=\s*\d"),
    "a CLI argv": re.compile(r"(?:run_cli|cli_job)\(\s*\{|return\s+(?:\w+\s+and\s+)?\{\s*'[a-z-]+'"),
}
"""How a shared name looks when written as a literal in Lua (names.lua is the only place for one)."""


def _lua_side(nvim_bin: Path, tmp_path: Path) -> dict[str, Any]:
    script = tmp_path / "names.lua"
    script.write_text(ASK_LUA)
    out = subprocess.run(
        [str(nvim_bin), "--clean", "--headless", "--cmd", f"set rtp^={runtime_dir()}", "-c", f"luafile {script}"],
        cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, capture_output=True, text=True,
        timeout=30, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    lines = out.stdout.strip().splitlines()
    assert lines, f"Neovim printed nothing (exit {out.returncode}): {out.stderr}"
    data: dict[str, Any] = json.loads(lines[-1])
    return data


def _click_takes(argv: list[str]) -> bool:
    """Whether ``argv`` is a prefix the click application parses: (sub)command words, then options of the last
    command (each followed by its value, or the end of the prefix)."""
    command: click.Command = cli
    words = iter(argv)
    for word in words:
        if word.startswith("-"):
            option = next((p for p in command.params if word in p.opts), None)
            if not isinstance(option, click.Option):
                return False
            if not option.is_flag:
                next(words, None)
        elif isinstance(command, click.Group):
            found = command.commands.get(word)
            if found is None:
                return False
            command = found
        else:
            return False
    return True


def test_lua_names_are_pythons(nvim_bin: Path, tmp_path: Path) -> None:
    lua = _lua_side(nvim_bin, tmp_path)
    shared = lua["names"]
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    attach_default = inspect.signature(NvimBridge.attach).parameters["debounce_ms"].default
    nvim_commands = sorted(c.nvim[0] for c in TABLE.values() if c.nvim is not None)
    expected = {
        "version": [__version__] * 3,
        "debounce_ms": [IdeConfig().debounce_ms] * 4,
        "rpc": {"request": nvim_channel.REQUEST_METHOD, "event": nvim_channel.EVENT_METHOD},
        "commands": nvim_commands,
        "errors": {key: getattr(jsonrpc, key.upper()) for key in shared["errors"]},
        "tools": sorted(set(TOOLS) - CONTROLLER_TOOLS),
    }
    got = {
        "version": [shared["version"], lua["version"], pyproject],
        "debounce_ms": [shared["debounce_ms"], lua["config_debounce"], lua["selection_debounce"], attach_default],
        "rpc": shared["rpc"],
        "commands": sorted(shared["cmd"].values()),
        "errors": shared["errors"],
        "tools": sorted(lua["tools"]),
    }
    assert got == expected
    assert all(key == value for key, value in shared["cmd"].items()), shared["cmd"]
    assert lua["argv"] == [["kill", "x"], ["kill"], ["kill"]]  # nil words left out, the prefix not changed
    bad_argv = [" ".join(argv) for argv in shared["cli"].values() if not _click_takes(argv)]
    assert not bad_argv, f"names.lua runs CLI commands or options that cli/app.py does not have: {bad_argv}"
    assert set(TOOLS) >= CONTROLLER_TOOLS

    literals = [
        f"{path.name}:{n}: {what}: {line.strip()}"
        for path in sorted(LUA_DIR.glob("*.lua"))
        if path.name != "names.lua"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        for what, pattern in LITERALS.items()
        if pattern.search(line.split("--", 1)[0] if not line.lstrip().startswith("---") else "")
    ]
    assert not literals, "shared names written outside names.lua:\n" + "\n".join(literals)

"""The controller reaches Neovim through ``NvimPort`` only: no Lua source, no ``exec_lua`` in controller/*.py (the
Neovim adapter, adapters/nvim.py, is the one place that sends Lua). Read from the AST, so a code path no test runs
is checked too; docstrings may name Lua functions."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import tmuxclaude

pytestmark = pytest.mark.unit

CONTROLLER = Path(tmuxclaude.__file__).resolve().parent / "controller"
BANNED = re.compile(r"exec_lua|\brequire\s*\(|(?<![\w.])vim\.\w")
"""In a string: Lua source or an ``nvim_exec_lua`` call; as a name or attribute: the RPC client's own method."""


def lua_uses(source: str) -> list[str]:
    tree = ast.parse(source)
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    }
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if BANNED.search(node.value):
                found.append(f"{node.lineno}: string {node.value!r}")
        elif isinstance(node, ast.Attribute) and "exec_lua" in node.attr:
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Name) and "exec_lua" in node.id:
            found.append(f"{node.lineno}: {node.id}")
    return found


def test_no_lua_source_in_the_controller() -> None:
    found = [f"{p.name}:{use}" for p in sorted(CONTROLLER.glob("*.py")) for use in lua_uses(p.read_text("utf-8"))]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        'bridge.client.notify("nvim_exec_lua", "x", [])',
        "await bridge.client.exec_lua(code)",
        "CODE = \"return require('tmuxclaude.util').error(...)\"",
        "f = client.exec_lua",
        'x = f"vim.notify({text})"',
        "x = 'require (\"tmuxclaude\")'",
        "def f():\n    '''doc'''\n    return 'vim.cmd(\"q\")'",
    ],
)
def test_the_check_catches(source: str) -> None:
    assert lua_uses(source)


def test_docstrings_and_plain_text_pass() -> None:
    source = (
        "'''Shown by ``require('tmuxclaude').statusline()``.'''\n"
        "def f():\n    '''Calls exec_lua.'''\n    return 'ok.nvim.sock'"
    )
    assert lua_uses(source) == []

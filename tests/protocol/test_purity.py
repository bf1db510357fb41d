"""The sans-I/O layers import nothing that does I/O or belongs to the layers above them.

``protocol/`` and ``model/`` must stay testable without sockets, processes, tmux, git or an event loop
(design.md, "Layers"). This walks the source AST rather than importing it, so a banned import is caught
even on a code path the tests never run, and partially written modules are checked as they are.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tmuxclaude

PACKAGE_ROOT = Path(tmuxclaude.__file__).resolve().parent
PURE_DIRS = ("protocol", "model")

BANNED = frozenset(
    {
        "asyncio",
        "socket",
        "subprocess",
        "threading",
        "websockets",
        "libtmux",
        "git",
        "psutil",
        "msgpack",
        "tmuxclaude.adapters",
        "tmuxclaude.controller",
        "tmuxclaude.cli",
    }
)

# protocol/ is ours and promises more: no file, process or OS access at all, not even indirectly.
BANNED_IN_PROTOCOL = BANNED | {
    "os",
    "pathlib",
    "io",
    "shutil",
    "tempfile",
    "select",
    "selectors",
    "signal",
    "multiprocessing",
    "concurrent",
    "http",
    # urllib.parse is string work (the pane channel's query strings); the rest of urllib does I/O.
    "urllib.request",
    "urllib.response",
    "urllib.robotparser",
    "ssl",
    "secrets",
    "random",
    "time",
    "pynvim",
    "tmuxclaude.model",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """Every module a source file imports, as absolute dotted names with line numbers.

    Relative imports are resolved against ``module`` so ``from ..adapters import x`` is caught, and
    ``importlib.import_module("x")`` / ``__import__("x")`` with a literal name count as imports too.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts)
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # `from tmuxclaude import adapters` imports a submodule by attribute name.
            found.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            first = node.args[0]
            literal = first.value if isinstance(first, ast.Constant) else None
            if name in {"import_module", "__import__"} and isinstance(literal, str):
                found.append((node.lineno, literal))
    return found


def is_banned(name: str, banned: frozenset[str] | set[str]) -> bool:
    return any(name == b or name.startswith(b + ".") for b in banned)


def violations(path: Path, banned: frozenset[str] | set[str]) -> list[str]:
    module = _module_name(path)
    source = path.read_text(encoding="utf-8")
    return [
        f"{path.relative_to(PACKAGE_ROOT.parent)}:{line}: imports {name}"
        for line, name in imported_modules(source, module, path.name == "__init__.py")
        if is_banned(name, banned)
    ]


def _files(sub: str) -> list[Path]:
    directory = PACKAGE_ROOT / sub
    return sorted(directory.rglob("*.py")) if directory.is_dir() else []


def test_protocol_files_exist() -> None:
    names = {p.name for p in _files("protocol")}
    assert {"jsonrpc.py", "mcp.py", "tools.py", "notifications.py", "lockfile.py"} <= names


@pytest.mark.parametrize("sub", PURE_DIRS)
def test_pure_layers_import_no_io(sub: str) -> None:
    banned = BANNED_IN_PROTOCOL if sub == "protocol" else BANNED
    found = [v for path in _files(sub) for v in violations(path, banned)]
    assert found == []


@pytest.mark.parametrize(
    ("source", "module", "is_package", "name"),
    [
        ("import asyncio", "tmuxclaude.model.x", False, "asyncio"),
        ("import os.path", "tmuxclaude.protocol.x", False, "os.path"),
        (
            "from websockets.asyncio.server import serve",
            "tmuxclaude.protocol.x",
            False,
            "websockets.asyncio.server",
        ),
        ("from ..adapters import tmux", "tmuxclaude.model.x", False, "tmuxclaude.adapters"),
        ("from . import controller", "tmuxclaude", True, "tmuxclaude.controller"),
        ("from tmuxclaude import cli", "tmuxclaude.model.x", False, "tmuxclaude.cli"),
        ("def f():\n    import subprocess", "tmuxclaude.model.x", False, "subprocess"),
        ("import importlib\nimportlib.import_module('psutil')", "tmuxclaude.model.x", False, "psutil"),
        ("__import__('socket')", "tmuxclaude.model.x", False, "socket"),
    ],
)
def test_checker_catches(source: str, module: str, is_package: bool, name: str) -> None:
    names = [n for _, n in imported_modules(source, module, is_package)]
    assert name in names
    assert any(is_banned(n, BANNED_IN_PROTOCOL) for n in names)


def test_checker_allows_lookalikes() -> None:
    names = [n for _, n in imported_modules("import gitignore_parser\nimport json", "tmuxclaude.model.x", False)]
    assert not any(is_banned(n, BANNED) for n in names)


LAYER_RULES = {
    "adapters": frozenset({"tmuxclaude.controller", "tmuxclaude.cli"}),
    "controller": frozenset({"tmuxclaude.cli"}),
}
"""Dependencies point down (design.md, "Layers"): cli -> controller -> protocol/model; adapters serve the
controller and never reach up into it or the CLI."""


@pytest.mark.parametrize("sub", sorted(LAYER_RULES))
def test_layers_point_down(sub: str) -> None:
    found = [v for path in _files(sub) for v in violations(path, LAYER_RULES[sub])]
    assert found == []


def test_layer_rules_cover_the_whole_package() -> None:
    """A new top-level subpackage must be placed in the layer rules (or be pure) before it can land."""
    subs = {p.name for p in PACKAGE_ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert subs <= set(LAYER_RULES) | set(PURE_DIRS) | {"cli"}


COMPOSITION_ROOT = frozenset({"compose"})
"""The one controller module that names adapters: it builds the ports (controller/ports.py)."""

SERVER_CALLS = frozenset({"start_unix_server", "start_server", "create_server", "socket", "bind", "listen"})
"""What holding a socket server takes; in the controller only the adapters behind its ports do it."""


def test_only_the_composition_root_imports_adapters() -> None:
    found = [
        v
        for path in _files("controller")
        if path.stem not in COMPOSITION_ROOT
        for v in violations(path, frozenset({"tmuxclaude.adapters"}))
    ]
    assert found == []


def _server_calls(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in SERVER_CALLS:
                found.append((node.lineno, name))
    return found


def test_no_controller_module_holds_a_socket_server() -> None:
    found = [
        f"{path.name}:{line}: {name}"
        for path in _files("controller")
        for line, name in _server_calls(path.read_text(encoding="utf-8"))
    ]
    assert found == []
    assert _server_calls("asyncio.start_unix_server(handle, path=p)") == [(1, "start_unix_server")]
    assert _server_calls("import socket\ns = socket.socket()") == [(2, "socket")]

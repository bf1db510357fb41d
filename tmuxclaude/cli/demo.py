"""``tmuxclaude demo``: a throwaway repo with two worktrees, both instances open: the whole thing in one go."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tmuxclaude.adapters.paths import Paths
from tmuxclaude.cli import client, render

__all__ = ["build_demo_repo", "run_demo"]

FILES = {
    "README.md": "# demo\n\nA throwaway project made by `tmuxclaude demo`.\n",
    "calc.py": "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n",
    "test_calc.py": "from calc import add, mul\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}


def _git(cwd: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": os.environ.get("GIT_AUTHOR_NAME", "tmuxclaude demo"),
        "GIT_AUTHOR_EMAIL": os.environ.get("GIT_AUTHOR_EMAIL", "demo@localhost"),
        "GIT_COMMITTER_NAME": os.environ.get("GIT_COMMITTER_NAME", "tmuxclaude demo"),
        "GIT_COMMITTER_EMAIL": os.environ.get("GIT_COMMITTER_EMAIL", "demo@localhost"),
    }
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def build_demo_repo(base: Path) -> list[Path]:
    """``base/demo`` with one commit and two linked worktrees (feature-a, feature-b) beside it."""
    repo = base / "demo"
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    for name, text in FILES.items():
        (repo / name).write_text(text, encoding="utf-8")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "demo project")
    worktrees = []
    for branch in ("feature-a", "feature-b"):
        wt = base / f"demo-{branch}"
        _git(repo, "worktree", "add", "-q", "-b", branch, str(wt))
        worktrees.append(wt)
    return worktrees


def run_demo(directory: str | None, attach: bool) -> list[str]:
    base = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="tmuxclaude-demo-"))
    lines = [f"demo repo: {base / 'demo'}"]
    for wt in build_demo_repo(base):
        item = client.request("open", {"path": str(wt), "detached": True})
        lines.append(render.instance_line(item, "started"))
    inside = bool(os.environ.get("TMUX"))
    target = "tmuxclaude"
    if attach and sys.stdin.isatty() and not inside:
        os.execvp("tmux", ["tmux", "-S", Paths.current().tmux_socket, "attach", "-t", target])
    lines.append(
        "switch with: tmuxclaude switch feature-a"
        if inside
        else f"attach with: tmux -S {Paths.current().tmux_socket} attach -t {target}"
    )
    return lines

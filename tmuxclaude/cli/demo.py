"""``tmuxclaude demo``: a throwaway repo with two worktrees, both instances open: the whole thing in one go.

Without ``--dir`` the demo lives in one known place per tmux server (``<state dir>/demo``): the next ``demo``
replaces it (stopping its instances first) and ``gc`` removes it once no instance uses it, so demos never pile up
in /tmp. A ``--dir`` must be new (or empty): the demo never writes into, or deletes, a directory of the user's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tmuxclaude.adapters.paths import Paths
from tmuxclaude.cli import client
from tmuxclaude.errors import LimitError, WorktreeError
from tmuxclaude.model import view

__all__ = ["build_demo_repo", "default_dir", "remove_unused_demo", "run_demo"]

BRANCHES = ("feature-a", "feature-b")

FILES = {
    "README.md": "# demo\n\nA throwaway project made by `tmuxclaude demo`.\n",
    "calc.py": "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n",
    "test_calc.py": "from calc import add, mul\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}


def default_dir(paths: Paths | None = None) -> Path:
    return (paths or Paths.current()).state_dir / "demo"


def _git(cwd: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": os.environ.get("GIT_AUTHOR_NAME", "tmuxclaude demo"),
        "GIT_AUTHOR_EMAIL": os.environ.get("GIT_AUTHOR_EMAIL", "demo@localhost"),
        "GIT_COMMITTER_NAME": os.environ.get("GIT_COMMITTER_NAME", "tmuxclaude demo"),
        "GIT_COMMITTER_EMAIL": os.environ.get("GIT_COMMITTER_EMAIL", "demo@localhost"),
    }
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        detail = (out.stderr or out.stdout).strip().splitlines()
        raise WorktreeError(f"demo: git {args[0]} failed: {detail[-1] if detail else f'exit {out.returncode}'}")


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
    for branch in BRANCHES:
        wt = base / f"demo-{branch}"
        _git(repo, "worktree", "add", "-q", "-b", branch, str(wt))
        worktrees.append(wt)
    return worktrees


def _under(path: str, base: Path) -> bool:
    return Path(path) == base or base in Path(path).parents


def _check_room(items: list[dict[str, Any]], previous: int) -> None:
    """Refuse before building anything when the two demo instances cannot both start."""
    from tmuxclaude.adapters.configfile import load_config

    config = load_config()
    limit = config.effective_max_instances
    running = sum(1 for i in items if i.get("state") != "dead") - previous
    if limit - running < len(BRANCHES):
        names = ", ".join(str(i["name"]) for i in items if i.get("state") != "dead")
        if not config.multi_instance.enabled:
            raise LimitError("the demo opens two instances, and multi_instance.enabled is false")
        raise LimitError(
            f"the demo opens {len(BRANCHES)} instances and max_instances is {limit} with {running} running"
            f" ({names}); kill some or raise multi_instance.max_instances"
        )


def _stop_and_remove(base: Path, items: list[dict[str, Any]]) -> int:
    stopped = 0
    for item in items:
        if _under(str(item["worktree"]), base):
            client.request("kill", {"ref": item["id"]})
            stopped += 1
    shutil.rmtree(base, ignore_errors=True)
    return stopped


def remove_unused_demo() -> bool:
    """``gc``: the default demo dir goes once none of its worktrees has an instance."""
    base = default_dir()
    if not base.exists():
        return False
    items = client.request("ls", autostart=False)
    if any(_under(str(i["worktree"]), base) for i in items):
        return False
    shutil.rmtree(base, ignore_errors=True)
    return True


def run_demo(directory: str | None, attach: bool) -> Iterator[str]:
    """Lines to print, as they happen: the repo path comes first, whatever fails later."""
    base = Path(directory).expanduser().absolute() if directory else default_dir()
    if directory and base.exists() and (not base.is_dir() or any(base.iterdir())):
        raise WorktreeError(f"demo: {base} already exists and is not empty; name a new directory")
    items: list[dict[str, Any]] = client.request("ls")
    # The previous default demo's instances make room: they are stopped before the new ones start.
    previous = (
        0 if directory else sum(1 for i in items if _under(str(i["worktree"]), base) and i.get("state") != "dead")
    )
    _check_room(items, previous)
    if not directory and base.exists():
        stopped = _stop_and_remove(base, items)
        yield f"replaced the previous demo ({stopped} instance(s) stopped)"
    worktrees = build_demo_repo(base)
    yield f"demo repo: {base / 'demo'}"
    for wt in worktrees:
        item = client.request("open", {"path": str(wt), "detached": True})
        yield view.instance_line(view.from_wire(item), "started")
    inside = bool(os.environ.get("TMUX"))
    target = "tmuxclaude"
    if attach and sys.stdin.isatty() and not inside:
        sys.stdout.flush()
        os.execvp("tmux", ["tmux", "-S", Paths.current().tmux_socket, "attach", "-t", target])
    yield (
        "switch with: tmuxclaude switch feature-a"
        if inside
        else f"attach with: tmux -S {Paths.current().tmux_socket} attach -t {target}"
    )

"""Attacks on this round's new surfaces (line comments, prompt delivery, git detection by reading files), each
performed against the real product: real controller, real tmux, real files. Each failed before its fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.env import Env

pytestmark = pytest.mark.timeout(60)


def _hostile_git_dir(where: Path, kind: str) -> Path:
    """A directory a pane may ``cd`` into (an unpacked archive, another user's checkout) whose ``.git`` files are
    built to stall or crash a reader: ``commondir`` a FIFO (an open() for reading waits for a writer forever), or
    ``.git`` a ``gitdir:`` file pointing into a symlink loop."""
    d = where / f"hostile-{kind}"
    git_dir = d / ".git"
    if kind == "fifo":
        (git_dir / "objects").mkdir(parents=True)
        (git_dir / "refs").mkdir()
        (git_dir / "HEAD").write_text("ref: refs/heads/main\n")
        os.mkfifo(git_dir / "commondir")
    else:
        d.mkdir(parents=True)
        (d / "loop-a").symlink_to(d / "loop-b")
        (d / "loop-b").symlink_to(d / "loop-a")
        (d / ".git").write_text("gitdir: loop-a/x\n")
    return d


@pytest.mark.parametrize("kind", ["fifo", "loop"])
def test_hostile_git_files_neither_stall_nor_crash_the_controller(world: Env, repo: Path, kind: str) -> None:
    world.cli("new", "-d", "feat-a", cwd=repo)
    hostile = _hostile_git_dir(world.home, kind)
    # A command without a name asks the controller which instance this directory is (it reads the .git files).
    here = world.cli("review", "send", cwd=hostile, check=False, timeout=10)
    assert here.returncode != 0 and here.stderr.count("\n") == 1, here.stderr
    assert "internal error" not in here.stderr, here.stderr
    opened = world.cli("open", str(hostile), check=False, timeout=10)
    assert opened.returncode != 0 and "internal error" not in opened.stderr, opened.stderr
    # The controller still answers everyone else.
    assert "feat-a" in world.cli("ls", timeout=10).stdout

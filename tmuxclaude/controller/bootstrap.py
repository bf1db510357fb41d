"""What a new worktree gets before its instance starts: the gitignored files it needs (config list plus
``.worktreeinclude``, copied by ``adapters.bootstrap``, which never writes outside the worktree), and afterwards
the user's ``post_create`` command."""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
from pathlib import Path

from tmuxclaude.adapters import bootstrap as files
from tmuxclaude.model.config import Config
from tmuxclaude.model.instance import Instance

__all__ = ["bootstrap_worktree", "include_patterns", "post_create"]

log = logging.getLogger(__name__)


def include_patterns(config: Config, main_root: Path) -> list[str]:
    """The include patterns of a new worktree (config list, then ``.worktreeinclude``), every one checked to stay
    inside the worktree: WorktreeError naming the pattern and where it came from. Call before creating it."""
    return files.include_patterns(main_root, config.worktrees.include)


def bootstrap_worktree(config: Config, main_root: Path, root: Path, patterns: list[str]) -> None:
    """Copy (or link) the gitignored files the new worktree needs; nothing is ever written outside ``root``.
    What could not be copied safely is logged and left out (the instance still starts)."""
    files.copy_includes(main_root, root, patterns, symlink=config.worktrees.symlink)


async def post_create(config: Config, inst: Instance) -> None:
    command = config.worktrees.post_create
    if not command:
        return
    env = {
        **os.environ,
        "TMUXCLAUDE_NAME": inst.name,
        "TMUXCLAUDE_PATH": inst.worktree,
        "TMUXCLAUDE_PORT": str(inst.port),
        "TMUXCLAUDE_INSTANCE_ID": inst.id,
    }
    proc = await asyncio.create_subprocess_shell(
        command, cwd=inst.worktree, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    if proc.returncode:
        log.warning("post_create %r exited %s: %s", shlex.quote(command), proc.returncode, err[-500:])

"""What a new worktree gets before its instance starts: the gitignored files it needs (config list plus
``.worktreeinclude``), and afterwards the user's ``post_create`` command."""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import shutil
from pathlib import Path

from tmuxclaude.model.config import Config
from tmuxclaude.model.instance import Instance

__all__ = ["bootstrap_worktree", "post_create"]

log = logging.getLogger(__name__)


def bootstrap_worktree(config: Config, main_root: Path, root: Path) -> None:
    """Copy (or link) the gitignored files a worktree needs to run: config list plus .worktreeinclude."""
    patterns = list(config.worktrees.include)
    include_file = main_root / ".worktreeinclude"
    if include_file.is_file():
        for line in include_file.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                patterns.append(line)
    for pattern in patterns:
        for src in main_root.glob(pattern):
            rel = src.relative_to(main_root)
            if ".git" in rel.parts:
                continue
            dst = root / rel
            if dst.exists() or dst.is_symlink():
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            if config.worktrees.symlink:
                dst.symlink_to(src)
            elif src.is_dir():
                shutil.copytree(src, dst, symlinks=True)
            else:
                shutil.copy2(src, dst)


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

"""What a new worktree gets after its instance starts: the user's ``post_create`` command. (The gitignored files it
needs before, config list plus ``.worktreeinclude``, are copied by ``adapters.bootstrap``, which never writes
outside the worktree.)"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex

from tmuxclaude.model.config import Config
from tmuxclaude.model.instance import Instance

__all__ = ["post_create"]

log = logging.getLogger(__name__)


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

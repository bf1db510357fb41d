"""Claude's file writes, per instance: pre-images for :ClaudeCodeReview and "show it in Neovim now".

Called from the hook endpoint (synchronously: a PreToolUse capture must be done before the hook is answered, so
before the tool writes), from Neovim events (a Bash write's pre-image: the unmodified buffer's text) and from
Neovim's ``review`` request. The policy lives in ``model/review.py``; file reading is the ``FileReader`` it is given
(``FilesPort.read_file_text``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import Any, Protocol

from tmuxclaude.controller.ports import FileReader
from tmuxclaude.model.review import FILE_TOOLS, ReviewStore, Scope, decode_hook_path

__all__ = ["EditTracker", "FileCheckPort"]

log = logging.getLogger(__name__)

TURN_GRACE_S = 2.0


class FileCheckPort(Protocol):
    """What the tracker needs from an instance's Neovim (``adapters.nvim.NvimBridge`` implements it)."""

    async def check_file(self, path: str, by: str) -> None: ...


class EditTracker:
    def __init__(self, neovim: Callable[[str], FileCheckPort | None], read: FileReader) -> None:
        self._neovim = neovim
        self._read = read
        self._stores: dict[str, ReviewStore] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._turn_open: dict[str, bool] = {}
        self._turn_ended: dict[str, float] = {}

    def store(self, instance_id: str) -> ReviewStore:
        return self._stores.setdefault(instance_id, ReviewStore())

    def forget(self, instance_id: str) -> None:
        self._stores.pop(instance_id, None)
        self._turn_open.pop(instance_id, None)
        self._turn_ended.pop(instance_id, None)

    def in_turn(self, instance_id: str) -> bool:
        """A Claude turn runs, or ended moments ago (a Bash write's file event may arrive after the Stop hook)."""
        if self._turn_open.get(instance_id):
            return True
        return time.monotonic() - self._turn_ended.get(instance_id, float("-inf")) < TURN_GRACE_S

    def on_hook(self, instance_id: str, event: str, session: str, tool: str, raw_path: str) -> None:
        store = self.store(instance_id)
        if session:
            store.new_session(session)
        if event in ("UserPromptSubmit", "PreToolUse", "PostToolUse"):
            self._turn_open[instance_id] = True
        elif event in ("Stop", "SessionEnd") and self._turn_open.get(instance_id):
            self._turn_open[instance_id] = False
            self._turn_ended[instance_id] = time.monotonic()
        if event == "UserPromptSubmit":
            store.new_turn()
            return
        if tool not in FILE_TOOLS or event not in ("PreToolUse", "PostToolUse"):
            return
        path = decode_hook_path(raw_path)
        if path is None:
            return
        if event == "PreToolUse":
            if store.wants(path):
                before = self._read(path, store.max_file_bytes)
                store.record(path, before.text, before.existed)
            return
        nvim = self._neovim(instance_id)
        if nvim is not None:
            task = asyncio.get_running_loop().create_task(self._check(nvim, path))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _check(nvim: FileCheckPort, path: str) -> None:
        try:
            await nvim.check_file(path, "Claude")
        except Exception as exc:  # Neovim gone or busy: its file watcher still catches the write
            log.debug("check of %s in Neovim failed: %s", path, exc)

    def on_buffer_preimage(self, instance_id: str, path: str, text: bytes) -> None:
        """An unmodified buffer is about to be reloaded because its file changed on disk. While Claude's turn is
        running that is most likely Claude's doing (a Bash command): its text is the pre-image."""
        if self.in_turn(instance_id) and path.startswith("/"):
            self.store(instance_id).record(path, text, True)

    def review(self, instance_id: str, scope: Scope, root: str = "") -> list[dict[str, Any]]:
        """The files this instance's Claude changed in ``scope`` that differ from their pre-image now. ``root``:
        the instance's worktree, sent along (resolved) so that Neovim never reverts through a symlink out of it."""
        store = self._stores.get(instance_id)
        if store is None:
            return []
        out = []
        for image in store.changes(scope):
            now = self._read(image.path, store.max_file_bytes)
            if image.kept and now.existed == image.existed and now.text == image.text:
                continue  # written back to what it was (a rejected edit, an undo): nothing to review
            item: dict[str, Any] = {
                "path": image.path,
                "existed": image.existed,
                "exists": now.existed,
                "kept": image.kept,
            }
            if image.text is not None:
                item["old"] = image.text
            if root:
                item["root"] = os.path.realpath(root)
            out.append(item)
        return out

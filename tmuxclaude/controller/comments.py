"""Line comments per instance (add, edit, delete, list, send as a review, send with a denied diff) and a tmux
pane's recent output given to an instance's Claude as an at-mentioned file.

Comments live in one file per instance in the controller's private state dir (0600, written atomically), so they
survive the diff tab closing and a controller restart, and one instance's comments are never read for another:
every handler takes the instance from the asking Neovim (or the CLI's ``find``), never from the comment.
The records and the prompt text are ``model/comments.py``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

from tmuxclaude.controller import prompts
from tmuxclaude.controller.runtime import Runtime
from tmuxclaude.errors import InstanceError, TmuxClaudeError
from tmuxclaude.model.comments import CommentBook, CommentError, check_path, render_denial, render_review
from tmuxclaude.model.instance import Instance
from tmuxclaude.protocol.boundedjson import loads_bounded

__all__ = ["comments", "deny_reason", "forget", "panes", "push_to_nvim", "review_send", "send_terminal"]

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 4 * 1024 * 1024
TERMINAL_LINES = 2000
TERMINAL_BYTES = 48 * 1024
"""Below the size up to which the CLI attaches an at-mentioned file outside the cwd with its contents."""
TERMINAL_FILES_KEPT = 5


def _file(rt: Runtime, instance_id: str) -> Path:
    if not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", instance_id):
        raise InstanceError("bad instance id")
    return rt.ports.paths.state_dir / f"comments-{instance_id}.json"


def load(rt: Runtime, instance_id: str) -> CommentBook:
    path = _file(rt, instance_id)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return CommentBook()
    except OSError as exc:
        log.warning("comments of %s unreadable: %s", instance_id, exc)
        return CommentBook()
    with os.fdopen(fd, "rb") as f:
        raw = f.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        log.warning("comments of %s: file too large, ignored", instance_id)
        return CommentBook()
    try:
        return CommentBook.from_json(loads_bounded(raw, max_bytes=MAX_FILE_BYTES))
    except ValueError:  # JsonBoundsError too: too deeply nested
        log.warning("comments of %s: not JSON, ignored", instance_id)
        return CommentBook()


def save(rt: Runtime, instance_id: str, book: CommentBook) -> None:
    rt.ports.paths.ensure_state_dir()
    rt.ports.files.write_private(_file(rt, instance_id), json.dumps(book.to_json(), ensure_ascii=False))


def forget(rt: Runtime, instance_id: str) -> None:
    """The instance is gone for good: its comments and captured pane files with it."""
    with contextlib.suppress(OSError, InstanceError):
        _file(rt, instance_id).unlink()
    for old in _terminal_files(rt, instance_id):
        with contextlib.suppress(OSError):
            old.unlink()
    rt.outbox.forget(instance_id)


def _instance(rt: Runtime, instance_id: str) -> Instance:
    inst = rt.registry.get(instance_id)
    if inst is None:
        raise InstanceError("no such instance")
    return inst


def _relative(inst: Instance, path: str) -> str:
    """``path`` (absolute, from Neovim) relative to the instance's worktree, or CommentError."""
    root = os.path.realpath(inst.worktree)
    full = os.path.realpath(path) if os.path.isabs(path) else os.path.realpath(os.path.join(root, path))
    rel = os.path.relpath(full, root)
    if rel == "." or rel.startswith(".." + os.sep) or rel == "..":
        raise CommentError(f"comment: {path} is not in {inst.name}'s worktree")
    return check_path(rel)  # it is printed in a prompt: no newline of a file name's author


def _listing(inst: Instance, book: CommentBook) -> list[dict[str, Any]]:
    return [{**c.to_dict(), "file": os.path.join(inst.worktree, c.path)} for c in book.comments]


async def comments(rt: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    """``{instance, action: list|add|edit|delete, ...}`` -> ``{comments: [...], message}`` (the whole list, so the
    Neovim side redraws from one answer)."""
    inst = _instance(rt, str(args.get("instance") or ""))
    action = str(args.get("action") or "list")
    book = load(rt, inst.id)
    message = ""
    if action == "add":
        rel = _relative(inst, str(args.get("file") or ""))
        comment = book.add({**args, "path": rel})
        lines = f"{comment.line1}" if comment.line1 == comment.line2 else f"{comment.line1}-{comment.line2}"
        message = f"comment on {rel}:{lines} (open: {len(book.open())})"
    elif action == "edit":
        comment = book.edit(str(args.get("id") or ""), str(args.get("text") or ""))
        message = f"comment on {comment.path}:{comment.line1} changed"
    elif action == "delete":
        comment = book.delete(str(args.get("id") or ""))
        message = f"comment on {comment.path}:{comment.line1} deleted"
    elif action != "list":
        raise CommentError(f"comment: unknown action {action!r}")
    if action != "list":
        save(rt, inst.id, book)
    return {"comments": _listing(inst, book), "message": message}


def push_to_nvim(rt: Runtime, instance_id: str) -> None:
    """Give the instance's (re)attached Neovim its comments (a notification: the attach never waits on it)."""
    inst = rt.registry.get(instance_id)
    bridge = rt.nvim(instance_id)
    if inst is None or bridge is None:
        return
    with contextlib.suppress(TmuxClaudeError):
        listing = _listing(inst, load(rt, instance_id))
        bridge.set_comments(listing)


def _mark_sent(rt: Runtime, instance_id: str, ids: list[str]) -> None:
    book = load(rt, instance_id)
    book.mark_sent(ids)
    save(rt, instance_id, book)
    push_to_nvim(rt, instance_id)  # its Neovim shows them as sent


async def review_send(rt: Runtime, inst: Instance) -> dict[str, Any]:
    """Every open comment of the instance as one prompt to its Claude (queued while it is not idle)."""
    waiting = rt.outbox.carried(inst.id)
    items = [c for c in load(rt, inst.id).open() if c.id not in waiting]
    if not items:
        raise CommentError(f"no open comments for {inst.name}" + (" that are not queued already" if waiting else ""))
    # Marked sent once typed into Claude (a controller restart before that leaves them open, to send again); a
    # second send while this one waits does not repeat them.
    ids = [c.id for c in items]
    message = prompts.queue(rt, inst.id, render_review(items), on_sent=lambda: _mark_sent(rt, inst.id, ids),
                            carries=frozenset(ids))  # fmt: skip
    return {"name": inst.name, "count": len(items), "message": f"{len(items)} comment(s): {message}"}


async def deny_reason(rt: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    """A diff of ``file`` was just denied in the instance's Neovim: the reason and the open comments on that file
    go to its Claude as the next prompt."""
    inst = _instance(rt, str(args.get("instance") or ""))
    rel = _relative(inst, str(args.get("file") or ""))
    reason = str(args.get("reason") or "")
    waiting = rt.outbox.carried(inst.id)
    items = [c for c in load(rt, inst.id).open(rel) if c.id not in waiting]
    if not reason.strip() and not items:
        return {"message": ""}  # a plain deny: nothing more to say
    ids = [c.id for c in items]
    message = prompts.queue(rt, inst.id, render_denial(rel, reason, items), after_rejection=True,
                            on_sent=lambda: _mark_sent(rt, inst.id, ids), carries=frozenset(ids))  # fmt: skip
    return {"message": f"denied; reason and {len(items)} comment(s) {message}"}


def _terminal_dir(rt: Runtime) -> Path:
    return rt.ports.files.ensure_private_dir(rt.ports.paths.runtime_dir / "context", rt.ports.paths.runtime_root)


def _terminal_files(rt: Runtime, instance_id: str) -> list[Path]:
    folder = rt.ports.paths.runtime_dir / "context"
    with contextlib.suppress(OSError):
        return sorted(folder.glob(f"{instance_id}-*.txt"), key=lambda p: p.name)
    return []


async def send_terminal(rt: Runtime, inst: Instance, pane: str) -> dict[str, Any]:
    """The pane's recent output, cleaned and bounded, in a private file outside the worktree, at-mentioned to the
    instance's Claude."""
    server = rt.server(inst.id)
    if server is None:
        raise InstanceError(f"{inst.name} is not being served")
    pane_text = rt.ports.pane_text
    pane_id = await asyncio.to_thread(pane_text.resolve_pane, pane)
    if pane_id in (inst.claude_pane,):
        raise TmuxClaudeError(f"{pane_id} is {inst.name}'s own Claude pane")
    text, count = await asyncio.to_thread(
        pane_text.capture_pane, pane_id, max_lines=TERMINAL_LINES, max_bytes=TERMINAL_BYTES
    )
    folder = _terminal_dir(rt)
    path = folder / f"{inst.id}-pane{pane_id[1:]}-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}.txt"
    rt.ports.files.write_private(path, text)
    for old in _terminal_files(rt, inst.id)[:-TERMINAL_FILES_KEPT]:
        with contextlib.suppress(OSError):
            old.unlink()
    server.push_mention(str(path), None, None)
    return {"name": inst.name, "file": str(path), "pane": pane_id, "lines": count, "bytes": len(text.encode())}


async def panes(rt: Runtime, inst: Instance) -> list[dict[str, str]]:
    """The panes :ClaudeCodeSendTerminal offers: every pane of this tmux server but the instance's own two."""
    found = await asyncio.to_thread(rt.ports.pane_text.list_panes)
    return [p for p in found if p["id"] not in (inst.claude_pane, inst.nvim_pane)]

"""Lock files of other IDEs (claudecode.nvim, an editor extension) that claim an instance's worktree: a Claude
started in that worktree may connect to that IDE instead of the instance's own. `tmuxclaude doctor` lists them.

Another program wrote these files: every field is treated as hostile data (shown shortened, printable only)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tmuxclaude.adapters.lockfiles import LockDir


@dataclass(frozen=True)
class ForeignClaim:
    port: int
    ide: str
    pid: int | None
    folder: str
    worktree: str


def _printable(value: object, limit: int = 80) -> str:
    text = "".join(c if c.isprintable() else "?" for c in str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _claims(folder: str, worktree: str) -> bool:
    # The CLI picks an IDE whose workspace folder holds its cwd: the worktree itself or a folder above it.
    folder = folder.rstrip("/") or "/"
    return worktree == folder or worktree.startswith(folder if folder == "/" else folder + "/")


def foreign_claims(lock_dir: Path, worktrees: list[str]) -> list[ForeignClaim]:
    """Lock files not written by tmuxclaude whose workspace folders hold one of ``worktrees``, by port."""
    locks = LockDir(lock_dir)
    found: list[ForeignClaim] = []
    for port in sorted(locks.ports()):
        data = locks.read_raw(port)
        if data is None or isinstance(data.get("instanceId"), str):
            continue
        folders = data.get("workspaceFolders")
        if not isinstance(folders, list):
            continue
        pid = data.get("pid")
        for worktree in worktrees:
            folder = next((f for f in folders if isinstance(f, str) and f and _claims(f, worktree)), None)
            if folder is not None:
                found.append(
                    ForeignClaim(
                        port=port,
                        ide=_printable(data.get("ideName") or "an IDE", 40),
                        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
                        folder=_printable(folder),
                        worktree=worktree,
                    )
                )
                break
    return found

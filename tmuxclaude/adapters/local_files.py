"""This machine's files as the controller's ``FilesPort``: private writes and directories, socket checks, bounded
reads, and the includes copied into a new worktree. Each method is the function of the module that holds it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tmuxclaude.adapters import bootstrap, filetext, fsutil, paths
from tmuxclaude.model.review import FileText

__all__ = ["LocalFiles"]


class LocalFiles:
    def write_private(self, path: Path, data: bytes | str, *, durable: bool = True) -> None:
        fsutil.write_private(path, data, durable=durable)

    def ensure_private_dir(self, path: Path, root: Path | None = None) -> Path:
        return paths.ensure_private_dir(path, root)

    def check_private_socket(self, path: Path) -> None:
        paths.check_private_socket(path)

    def read_file_text(self, path: str, max_bytes: int) -> FileText:
        return filetext.read_file_text(path, max_bytes)

    def include_patterns(self, main_root: Path, configured: Sequence[str]) -> list[str]:
        return bootstrap.include_patterns(main_root, configured)

    def copy_includes(self, main_root: Path, root: Path, patterns: Sequence[str], *, symlink: bool) -> list[str]:
        return bootstrap.copy_includes(main_root, root, patterns, symlink=symlink)

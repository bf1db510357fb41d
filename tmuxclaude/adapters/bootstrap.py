"""Worktree bootstrap: copy (or link) the gitignored files a new worktree needs (``.env``, local config) from the
main worktree, as listed by ``[worktrees] include`` and the repository's ``.worktreeinclude``.

Both lists are hostile input (a cloned repository writes its own ``.worktreeinclude``, and its branches decide
what the new worktree's directories are), so nothing here ever writes outside the new worktree:

- a pattern that is absolute, starts with ``~`` or has a ``..`` component is refused with an error naming where
  it came from, before the worktree is created;
- every destination directory is walked from the worktree root with ``O_NOFOLLOW`` directory descriptors and
  every file is created with ``O_EXCL | O_NOFOLLOW`` relative to its parent's descriptor, so a symlink anywhere
  on the way (``config -> /somewhere`` checked out from the base branch) is refused, not followed, even if it
  appears while we copy;
- a source reached through a symlinked directory of the main worktree is skipped (it is not the user's file
  there); a source that is itself a symlink is recreated as the same symlink, never dereferenced;
- copies keep the source's permission bits (a 0600 secret stays 0600) and are created 0600 until then.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from tmuxclaude.errors import WorktreeError

__all__ = ["INCLUDE_FILE", "check_pattern", "copy_includes", "include_patterns"]

log = logging.getLogger(__name__)

INCLUDE_FILE = ".worktreeinclude"
_MAX_INCLUDE_BYTES = 64 * 1024
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class _Refused(Exception):
    """One include entry that cannot be copied safely: skipped, with the reason logged."""


def check_pattern(pattern: str, origin: str) -> str:
    """``pattern`` if it stays inside the worktree, else WorktreeError naming ``origin`` (file:line or key)."""
    path = PurePosixPath(pattern)
    if path.is_absolute() or pattern.startswith("~"):
        raise WorktreeError(f"{origin}: include pattern {pattern!r} is absolute; use a path inside the repository")
    if ".." in path.parts:
        raise WorktreeError(f"{origin}: include pattern {pattern!r} leaves the repository ('..')")
    return pattern


def _read_include_file(main_root: Path) -> list[tuple[str, str]]:
    path = main_root / INCLUDE_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return []
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise WorktreeError(f"{path} is a symlink; refusing to read include patterns from it") from None
        raise WorktreeError(f"cannot read {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise WorktreeError(f"{path} is not a regular file")
        raw = f.read(_MAX_INCLUDE_BYTES + 1)
    if len(raw) > _MAX_INCLUDE_BYTES:
        raise WorktreeError(f"{path} is larger than {_MAX_INCLUDE_BYTES} bytes")
    found = []
    for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            found.append((line, f"{path}:{number}"))
    return found


def include_patterns(main_root: Path, configured: Sequence[str]) -> list[str]:
    """Every include pattern (config first, then ``.worktreeinclude``), each checked: call before creating."""
    entries = [(p, "[worktrees] include") for p in configured] + _read_include_file(main_root)
    return [check_pattern(pattern, origin) for pattern, origin in entries]


def _source_is_plain(main_root: Path, rel: PurePosixPath) -> bool:
    """No directory on the way from the main worktree to the source is a symlink."""
    current = main_root
    for part in rel.parts[:-1]:
        current = current / part
        if not stat.S_ISDIR(os.lstat(current).st_mode):
            return False
    return True


def _open_parent(root_fd: int, rel: PurePosixPath, main_root: Path) -> int:
    """A descriptor of the destination's parent inside the worktree, creating missing directories (with the
    source's modes); a symlink or non-directory on the way is refused."""
    fd = os.dup(root_fd)
    try:
        for depth, part in enumerate(rel.parts[:-1], 1):
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                os.mkdir(part, 0o700, dir_fd=fd)
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                source = main_root.joinpath(*rel.parts[:depth])
                # The source's bits, but always writable by us: more entries may be copied into it.
                os.fchmod(child, (stat.S_IMODE(os.lstat(source).st_mode) & 0o777) | 0o700)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    where = "/".join(rel.parts[:depth])
                    raise _Refused(f"{where} is a symlink or not a directory in the new worktree") from None
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _exists(parent_fd: int, name: str) -> bool:
    try:
        os.lstat(name, dir_fd=parent_fd)
        return True
    except FileNotFoundError:
        return False


def _copy_file(src: Path, st: os.stat_result, parent_fd: int, name: str) -> None:
    with open(src, "rb") as reader:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=parent_fd)  # fmt: skip
        try:
            while chunk := reader.read(1 << 20):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            os.fchmod(fd, stat.S_IMODE(st.st_mode) & 0o777)
            os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(fd)


def _copy_entry(src: Path, parent_fd: int, name: str) -> None:
    """Copy ``src`` (file, symlink or directory tree) as ``name`` in ``parent_fd``; existing names are kept."""
    if _exists(parent_fd, name):
        return
    st = os.lstat(src)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), name, dir_fd=parent_fd)
    elif stat.S_ISREG(st.st_mode):
        _copy_file(src, st, parent_fd, name)
    elif stat.S_ISDIR(st.st_mode):
        os.mkdir(name, 0o700, dir_fd=parent_fd)
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
        try:
            with os.scandir(src) as entries:
                for entry in entries:
                    _copy_entry(Path(entry.path), fd, entry.name)
            os.fchmod(fd, stat.S_IMODE(st.st_mode) & 0o777)
        finally:
            os.close(fd)
    # Sockets, fifos and devices are not worktree files: left out.


def _matches(main_root: Path, patterns: Iterable[str]) -> list[PurePosixPath]:
    found: dict[PurePosixPath, None] = {}
    for pattern in patterns:
        for src in sorted(main_root.glob(pattern)):
            rel = PurePosixPath(src.relative_to(main_root).as_posix())
            if rel.parts and ".git" not in rel.parts and ".." not in rel.parts:
                found.setdefault(rel)
    return list(found)


def copy_includes(main_root: Path, root: Path, patterns: Sequence[str], *, symlink: bool) -> list[str]:
    """Copy (or, with ``symlink``, link) what ``patterns`` match in ``main_root`` into the new worktree ``root``.

    Returns what was skipped and why (one line each); raises nothing for a single entry.
    """
    skipped: list[str] = []
    root_fd = os.open(root, _DIR_FLAGS)
    try:
        for rel in _matches(main_root, [check_pattern(p, "include") for p in patterns]):
            src = main_root.joinpath(*rel.parts)
            try:
                if not _source_is_plain(main_root, rel):
                    raise _Refused("it is reached through a symlinked directory of the main worktree")
                parent_fd = _open_parent(root_fd, rel, main_root)
                try:
                    if symlink:
                        if not _exists(parent_fd, rel.name):
                            os.symlink(src, rel.name, dir_fd=parent_fd)
                    else:
                        _copy_entry(src, parent_fd, rel.name)
                finally:
                    os.close(parent_fd)
            except _Refused as exc:
                skipped.append(f"{rel}: not copied: {exc}")
            except OSError as exc:
                skipped.append(f"{rel}: not copied: {exc.strerror or exc}")
    finally:
        os.close(root_fd)
    for line in skipped:
        log.warning("worktree bootstrap of %s: %s", root, line)
    return skipped

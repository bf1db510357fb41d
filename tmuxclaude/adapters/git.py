"""Git worktrees through GitPython: resolve the innermost worktree of a path, create and remove worktrees."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import git

from tmuxclaude.errors import UnsafeRemovalError, WorktreeError

__all__ = [
    "WorktreeInfo",
    "create_worktree",
    "remove_worktree",
    "resolve_worktree",
    "unsafe_reasons",
    "worktree_location",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorktreeInfo:
    root: str
    """The worktree's top-level directory (``git rev-parse --show-toplevel``)."""
    branch: str
    """Branch name, or ``HEAD@<sha>`` when detached, or ``(unborn)`` before the first commit."""
    main_root: str
    """The repository's main worktree (the one that holds the common .git dir)."""
    repo_name: str
    is_main: bool


def _branch_of(repo: git.Repo) -> str:
    try:
        if repo.head.is_detached:
            return f"HEAD@{repo.head.commit.hexsha[:7]}"
        return str(repo.active_branch.name)
    except (TypeError, ValueError):
        # An unborn branch (no commit yet) still has a name in HEAD's symbolic ref.
        try:
            return str(repo.head.reference.name)
        except (TypeError, ValueError):
            return "(unborn)"


def _outside_git_dir(path: Path) -> Path:
    """A path inside a ``.git`` directory belongs to the worktree that owns that directory."""
    parts = path.parts
    if ".git" in parts:
        idx = len(parts) - 1 - parts[::-1].index(".git")
        return Path(*parts[:idx]) if idx > 0 else path
    return path


def resolve_worktree(path: str | os.PathLike[str]) -> WorktreeInfo:
    """The innermost worktree holding ``path``: plain repo, linked or nested worktree, or submodule."""
    p = Path(path).expanduser()
    if not p.exists():
        raise WorktreeError(f"no such path: {p}")
    p = _outside_git_dir(p.resolve())
    start = p if p.is_dir() else p.parent
    try:
        repo = git.Repo(start, search_parent_directories=True)
    except git.InvalidGitRepositoryError:
        raise WorktreeError(f"not inside a git repository: {p}") from None
    except git.NoSuchPathError:
        raise WorktreeError(f"no such path: {p}") from None
    with repo:
        if repo.bare or repo.working_tree_dir is None:
            raise WorktreeError(f"{p} is in a bare repository, which has no worktree; use a linked worktree")
        root = Path(repo.working_tree_dir).resolve()
        common = Path(repo.common_dir).resolve()
        # Linked worktrees share <main>/.git; a submodule's git dir lives in the superproject's .git/modules
        # and its worktree is its own main one.
        main_root = common.parent if common.name == ".git" else root
        return WorktreeInfo(
            root=str(root),
            branch=_branch_of(repo),
            main_root=str(main_root),
            repo_name=main_root.name,
            is_main=Path(repo.git_dir).resolve() == common,
        )


def worktree_location(template: str, info: WorktreeInfo, branch: str) -> Path:
    main = Path(info.main_root)
    safe_branch = branch.replace("/", "-")
    return Path(template.format(parent=str(main.parent), repo=info.repo_name, branch=safe_branch)).expanduser()


def create_worktree(info: WorktreeInfo, branch: str, *, base: str | None, location: Path) -> WorktreeInfo:
    """``git worktree add``: a new branch from ``base`` (default HEAD), or check out an existing branch."""
    if location.exists() and any(location.iterdir()):
        raise WorktreeError(f"worktree location already exists and is not empty: {location}")
    with git.Repo(info.main_root) as repo:
        existing = {h.name for h in repo.heads}
        try:
            if branch in existing:
                if base:
                    raise WorktreeError(f"branch {branch!r} already exists; --base applies to new branches only")
                repo.git.worktree("add", str(location), branch)
            else:
                args = ["add", "-b", branch, str(location)]
                if base:
                    args.append(base)
                repo.git.worktree(*args)
        except git.GitCommandError as exc:
            raise WorktreeError(f"git worktree add failed: {_git_message(exc)}") from None
    return resolve_worktree(location)


def _git_message(exc: git.GitCommandError) -> str:
    text = (exc.stderr or "").strip().replace("stderr: ", "").strip("'\" \n")
    return text.splitlines()[-1] if text else str(exc.status)


def unsafe_reasons(path: str) -> list[str]:
    """Why removing this worktree could lose work: uncommitted changes, untracked files, unpushed commits."""
    reasons: list[str] = []
    with git.Repo(path) as repo:
        if repo.is_dirty(untracked_files=False):
            reasons.append("uncommitted changes")
        if repo.untracked_files:
            reasons.append(f"{len(repo.untracked_files)} untracked file(s)")
        try:
            args = ["--count", "HEAD", "--not", "--remotes"]
            if not repo.head.is_detached:
                # Commits that also live on another local branch are not at risk; this branch's own ones are.
                args += [f"--exclude={repo.active_branch.name}", "--branches"]
            count = int(repo.git.rev_list(*args) or "0")
        except (git.GitCommandError, ValueError, TypeError):
            count = 0
        if count:
            reasons.append(f"{count} commit(s) on no remote or other branch")
    return reasons


def remove_worktree(path: str, *, force: bool) -> None:
    """Remove a linked worktree; refuse when it holds work that only lives there, unless forced.

    The branch is kept: branches are never deleted silently.
    """
    if not Path(path).exists():
        with git.Repo(Path(path).parent, search_parent_directories=True) as repo:
            repo.git.worktree("prune")
        return
    info = resolve_worktree(path)
    if info.is_main:
        raise WorktreeError(f"{path} is the main worktree; refusing to remove it")
    if not force:
        reasons = unsafe_reasons(path)
        if reasons:
            raise UnsafeRemovalError(f"worktree {path} has {', '.join(reasons)}; commit/push first or pass --force")
    with git.Repo(info.main_root) as repo:
        try:
            repo.git.worktree("remove", *(["--force"] if force else []), path)
        except git.GitCommandError as exc:
            raise WorktreeError(f"git worktree remove failed: {_git_message(exc)}") from None

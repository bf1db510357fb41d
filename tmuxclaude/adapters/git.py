"""Git worktrees through GitPython: resolve the innermost worktree of a path, create and remove worktrees."""

from __future__ import annotations

import filecmp
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import git

from tmuxclaude.errors import UnsafeRemovalError, WorktreeError

__all__ = [
    "WorktreeInfo",
    "create_worktree",
    "ignored_files",
    "prune_worktrees",
    "remove_worktree",
    "resolve_worktree",
    "unsafe_reasons",
    "worktree_for_branch",
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


def worktree_for_branch(info: WorktreeInfo, branch: str) -> str | None:
    """The worktree that has ``branch`` checked out, if any (``git worktree list --porcelain``)."""
    with git.Repo(info.main_root) as repo:
        try:
            listing = str(repo.git.worktree("list", "--porcelain"))
        except git.GitCommandError:
            return None
    path = None
    for line in listing.splitlines():
        if line.startswith("worktree "):
            path = line[len("worktree ") :]
        elif line == f"branch refs/heads/{branch}" and path is not None:
            return path
    return None


def create_worktree(info: WorktreeInfo, branch: str, *, base: str | None, location: Path) -> WorktreeInfo:
    """``git worktree add``: a new branch from ``base`` (default HEAD), or check out an existing branch."""
    checked_out = worktree_for_branch(info, branch)
    if checked_out is not None:
        raise WorktreeError(
            f"branch {branch!r} is already checked out at {checked_out}; `tmuxclaude open {checked_out}` starts"
            " its instance"
        )
    if location.exists() and any(location.iterdir()):
        raise WorktreeError(f"worktree location already exists and is not empty: {location}")
    with git.Repo(info.main_root) as repo:
        existing = {h.name for h in repo.heads}
        if not base and not repo.head.is_valid():
            raise WorktreeError(
                f"{info.main_root} has no commits yet, and a new worktree branches from one: commit first"
                " (for example `git commit --allow-empty -m init`)"
            )
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
    """Git's own last line. GitPython wraps stderr as ``stderr: '...'``: drop that wrapper only, never quotes
    that belong to the message (``not a valid object name: 'HEAD'``)."""
    text = (exc.stderr or "").strip()
    if text.startswith("stderr: "):
        text = text[len("stderr: ") :]
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else str(exc.status)


_SHOWN = 5
_COMPARE_BUDGET = 2000
"""Files compared with the main worktree's before an ignored directory counts as unique (bounded work)."""


def _same_as_main(here: Path, there: Path, budget: list[int]) -> bool:
    """``here`` (in the worktree) is what the bootstrap made of ``there`` (in the main one): a link to it, or
    the same bytes (a directory: the same entries, recursively, within the budget)."""
    budget[0] -= 1
    if budget[0] < 0:
        return False
    try:
        if here.is_symlink():
            return os.path.realpath(here) == os.path.realpath(there) or os.readlink(here) == os.readlink(there)
        if there.is_symlink():
            return False
        if here.is_dir():
            if not there.is_dir():
                return False
            names = sorted(os.listdir(here))
            return names == sorted(os.listdir(there)) and all(_same_as_main(here / n, there / n, budget) for n in names)
        if here.is_file() and there.is_file():
            return here.stat().st_size == there.stat().st_size and filecmp.cmp(here, there, shallow=False)
    except OSError:
        return False
    return False


def ignored_files(path: str, main_root: str) -> list[str]:
    """Gitignored files and directories of a worktree (``dir/`` for a wholly ignored one) that are not copies of
    the main worktree's (the bootstrap's ``.env`` copies are not work; notes, local data and builds are)."""
    with git.Repo(path) as repo:
        out = repo.git.ls_files("--others", "--ignored", "--exclude-standard", "--directory", "-z")
    budget = [_COMPARE_BUDGET]
    found = []
    for rel in (e for e in out.split("\0") if e):
        name = rel.rstrip("/")
        if os.path.realpath(path) != os.path.realpath(main_root) and _same_as_main(
            Path(path, name), Path(main_root, name), budget
        ):
            continue
        found.append(rel)
    return found


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f", ... ({len(names) - _SHOWN} more)" if len(names) > _SHOWN else "")


def unsafe_reasons(path: str) -> list[str]:
    """Why removing this worktree could lose work: uncommitted changes, untracked or ignored files (named),
    unpushed commits."""
    reasons: list[str] = []
    main_root = resolve_worktree(path).main_root
    with git.Repo(path) as repo:
        if repo.is_dirty(untracked_files=False):
            reasons.append("uncommitted changes")
        if repo.untracked_files:
            reasons.append(f"{len(repo.untracked_files)} untracked file(s) ({_listed(repo.untracked_files)})")
        ignored = ignored_files(path, main_root)
        if ignored:
            reasons.append(f"{len(ignored)} ignored file(s) ({_listed(ignored)})")
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


def prune_worktrees(repo_root: str) -> None:
    """``git worktree prune`` in the repository: drops git's records of worktrees deleted from disk."""
    try:
        with git.Repo(repo_root) as repo:
            repo.git.worktree("prune")
    except (git.GitCommandError, git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise WorktreeError(f"git worktree prune in {repo_root} failed: {exc}") from None


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

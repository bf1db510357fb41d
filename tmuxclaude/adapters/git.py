"""Git worktrees: find the innermost worktree of a path (by reading files: no git process), create, inspect and
remove worktrees (git, run with every protection against a repository's own config; see ``run_git``).

The one place that runs git. A repository may be hostile (unpacked from an archive, another user's directory, a
partial clone whose promisor remote is an ``ext::`` command): nothing its config names may run. docs/threat-model.md
lists the commands and the protections.
"""

from __future__ import annotations

import contextlib
import filecmp
import logging
import os
import stat
import subprocess
from pathlib import Path

from tmuxclaude.errors import UnsafeRemovalError, WorktreeError
from tmuxclaude.model.worktree import WorktreeInfo

__all__ = [
    "SAFE_CONFIG",
    "WorktreeInfo",
    "create_worktree",
    "ignored_files",
    "prune_worktrees",
    "remove_worktree",
    "resolve_worktree",
    "run_git",
    "unsafe_reasons",
    "worktree_for_branch",
    "worktree_location",
]

log = logging.getLogger(__name__)

SAFE_CONFIG = (
    "core.fsmonitor=false",  # a command run on every index refresh
    "core.hooksPath=/dev/null",  # post-checkout and every other hook
    "protocol.allow=never",  # any transport: a partial clone's lazy fetch from an ext:: promisor runs a command
    "core.pager=cat",
    "pager.status=false",
    "diff.external=",
    "core.askPass=",
    "credential.helper=",
    "core.sshCommand=false",
    "core.alternateRefsCommand=",
    "gpg.program=false",
    "core.untrackedCache=false",
    "submodule.recurse=false",
)
"""``-c`` settings on every git command: they win over the repository's own config (and reach child gits through
GIT_CONFIG_PARAMETERS)."""
_SAFE_ENV = {
    "GIT_NO_LAZY_FETCH": "1",  # git >= 2.44: never fetch missing objects from a promisor remote
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "GIT_PROTOCOL_FROM_USER": "0",
    "GIT_ALLOW_PROTOCOL": "",
}
_DROPPED_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_EXTERNAL_DIFF", "GIT_SSH", "GIT_SSH_COMMAND",
                "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_EXEC_PATH")  # fmt: skip
MAX_GIT_FILE = 4096
"""Bytes read of a ``.git`` file, ``HEAD`` or ``commondir``: they hold one line."""


class GitCommandError(WorktreeError):
    """A git command exited non-zero; the message is git's own last line."""


def _filters(cwd: str) -> list[str]:
    """``-c`` settings that switch off every filter the repository's config names (clean/smudge/process
    commands run on checkout and status): names read with ``git config``, which runs nothing."""
    out = subprocess.run(
        ["git", *_c_args(SAFE_CONFIG), "config", "-z", "--name-only", "--get-regexp", r"^filter\."],
        cwd=cwd, env=_env(), capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, timeout=30,
    )  # fmt: skip
    names = {e.split(".")[1] for e in out.stdout.split("\0") if e.count(".") >= 2}
    overrides = []
    for name in sorted(names):
        overrides += [f"filter.{name}.clean=", f"filter.{name}.smudge=", f"filter.{name}.process=",
                      f"filter.{name}.required=false"]  # fmt: skip
    return overrides


def _c_args(settings: tuple[str, ...] | list[str]) -> list[str]:
    return [arg for setting in settings for arg in ("-c", setting)]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.update(_SAFE_ENV)
    return env


def run_git(cwd: str | os.PathLike[str], *args: str, filters: bool = True, stdin: str | None = None) -> str:
    """``git <args>`` in ``cwd`` with SAFE_CONFIG, every configured filter off, and _SAFE_ENV; its stdout.
    Raises GitCommandError with git's own message.

    ``filters=False`` skips the ``git config`` run that finds the filters to switch off: only for commands that
    read refs or worktree metadata and never touch a file's content (rev-parse, worktree list), where no filter
    can run. It halves what those cost (one git process instead of two), on the path of ``tmuxclaude new``.
    ``stdin``: text fed to git (else it reads nothing)."""
    where = str(cwd)
    cmd = ["git", *_c_args(SAFE_CONFIG), *(_c_args(_filters(where)) if filters else []), *args]
    try:
        out = subprocess.run(
            cmd, cwd=where, env=_env(), capture_output=True, text=True, check=False, timeout=300,
            **({"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}),
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitCommandError(f"git {args[0]} in {where} failed: {exc}") from None
    if out.returncode != 0:
        lines = [line.strip() for line in out.stderr.splitlines() if line.strip()]
        raise GitCommandError(lines[-1] if lines else f"git {args[0]} exited {out.returncode}")
    return out.stdout


def _read_line(path: Path) -> str:
    """The first line of a small git file (``.git``, ``HEAD``, ``commondir``); OSError if absent, too big or not a
    regular file (a FIFO would stall the read forever, a device could be anything)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        data = f.read(MAX_GIT_FILE + 1)
    if len(data) > MAX_GIT_FILE:
        raise OSError(f"{path} is too large for a git file")
    return data.decode("utf-8", "replace").splitlines()[0].strip() if data.strip() else ""


def _branch_of(git_dir: Path) -> str:
    try:
        head = _read_line(git_dir / "HEAD")
    except OSError:
        return "(unborn)"
    if head.startswith("ref:"):
        ref = head[4:].strip()
        return ref[len("refs/heads/") :] if ref.startswith("refs/heads/") else ref
    return f"HEAD@{head[:7]}" if head else "(unborn)"


def _outside_git_dir(path: Path) -> Path:
    """A path inside a ``.git`` directory belongs to the worktree that owns that directory."""
    parts = path.parts
    if ".git" in parts:
        idx = len(parts) - 1 - parts[::-1].index(".git")
        return Path(*parts[:idx]) if idx > 0 else path
    return path


def _is_git_dir(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def _git_dir_of(worktree: Path) -> Path | None:
    """The git dir of a worktree candidate: ``.git`` itself, or where a ``.git`` file's ``gitdir:`` points."""
    dot = worktree / ".git"
    if dot.is_dir() and not dot.is_symlink():
        return dot if (dot / "HEAD").is_file() else None
    if dot.is_file():
        try:
            line = _read_line(dot)
        except OSError:
            return None
        if line.startswith("gitdir:"):
            try:
                target = (worktree / line[len("gitdir:") :].strip()).resolve()
            except RuntimeError:  # a symlink loop (Python < 3.13)
                return None
            return target if (target / "HEAD").is_file() else None
    return None


def resolve_worktree(path: str | os.PathLike[str]) -> WorktreeInfo:
    """The innermost worktree holding ``path``: plain repo, linked or nested worktree, or submodule.

    Files only (``.git``, ``gitdir:``, ``commondir``, ``HEAD``): no git process, so nothing a repository's
    config names can run here (this is what `open`, offers and auto-start do for any path).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise WorktreeError(f"no such path: {p}")
    try:
        p = _outside_git_dir(p.resolve())
    except RuntimeError:  # a symlink loop (Python < 3.13)
        raise WorktreeError(f"symlink loop in {p}") from None
    start = p if p.is_dir() else p.parent
    for candidate in (start, *start.parents):
        git_dir = _git_dir_of(candidate)
        if git_dir is None:
            if _is_git_dir(candidate):
                raise WorktreeError(f"{p} is in a bare repository, which has no worktree; use a linked worktree")
            continue
        common = git_dir
        try:
            line = _read_line(git_dir / "commondir")
        except FileNotFoundError:
            line = ""
        except OSError as exc:
            raise WorktreeError(f"{candidate} has an unreadable git file: {exc}") from None
        if line:
            try:
                common = (git_dir / line).resolve()
            except RuntimeError:
                raise WorktreeError(f"{candidate}: its commondir is a symlink loop") from None
        root = candidate
        # Linked worktrees share <main>/.git; a submodule's git dir lives in the superproject's .git/modules
        # and its worktree is its own main one.
        main_root = common.parent if common.name == ".git" else root
        return WorktreeInfo(
            root=str(root),
            branch=_branch_of(git_dir),
            main_root=str(main_root),
            repo_name=main_root.name,
            is_main=git_dir.resolve() == common.resolve(),
        )
    raise WorktreeError(f"not inside a git repository: {p}")


def worktree_location(template: str, info: WorktreeInfo, branch: str) -> Path:
    main = Path(info.main_root)
    safe_branch = branch.replace("/", "-")
    return Path(template.format(parent=str(main.parent), repo=info.repo_name, branch=safe_branch)).expanduser()


def worktree_for_branch(info: WorktreeInfo, branch: str) -> str | None:
    """The worktree that has ``branch`` checked out, if any (``git worktree list --porcelain``)."""
    try:
        listing = run_git(info.main_root, "worktree", "list", "--porcelain", filters=False)
    except GitCommandError:
        return None
    path = None
    for line in listing.splitlines():
        if line.startswith("worktree "):
            path = line[len("worktree ") :]
        elif line == f"branch refs/heads/{branch}" and path is not None:
            return path
    return None


def _has_commit(cwd: str, rev: str = "HEAD") -> bool:
    try:
        run_git(cwd, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", filters=False)
    except GitCommandError:
        return False
    return True


def _have_commits(cwd: str, revs: list[str]) -> list[bool]:
    """Whether each of ``revs`` names a commit, in one git process (``cat-file --batch-check``)."""
    if any("\n" in rev or "\r" in rev for rev in revs):  # one rev a line: never let a name add a line
        return [_has_commit(cwd, rev) for rev in revs]
    # One line a rev: "commit", or "<rev> missing" (or "ambiguous") when it names none.
    out = run_git(cwd, "cat-file", "--batch-check=%(objecttype)", filters=False,
                  stdin="".join(f"{rev}^{{commit}}\n" for rev in revs))  # fmt: skip
    lines = out.splitlines()
    return [k < len(lines) and lines[k] == "commit" for k in range(len(revs))]


def create_worktree(info: WorktreeInfo, branch: str, *, base: str | None, location: Path) -> WorktreeInfo:
    """``git worktree add``: a new branch from ``base`` (default HEAD), or check out an existing branch."""
    main = info.main_root
    has_head, exists = _have_commits(main, ["HEAD", f"refs/heads/{branch}"])
    # Only a branch that exists can be checked out somewhere already (the listing is a git process less on the
    # usual `new` of a new branch).
    checked_out = worktree_for_branch(info, branch) if exists else None
    if checked_out is not None:
        raise WorktreeError(
            f"branch {branch!r} is already checked out at {checked_out}; `tmuxclaude open {checked_out}` starts"
            " its instance"
        )
    if location.exists() and any(location.iterdir()):
        raise WorktreeError(f"worktree location already exists and is not empty: {location}")
    if not base and not has_head:
        raise WorktreeError(
            f"{main} has no commits yet, and a new worktree branches from one: commit first"
            " (for example `git commit --allow-empty -m init`)"
        )
    if exists and base:
        raise WorktreeError(f"branch {branch!r} already exists; --base applies to new branches only")
    made = _own_location(location)
    try:
        if exists:
            run_git(main, "worktree", "add", "--", str(location), branch)
        else:
            args = ["worktree", "add", "-b", branch, "--", str(location)]
            if base:
                args.append(base)
            run_git(main, *args)
    except GitCommandError as exc:
        if made:
            with contextlib.suppress(OSError):
                location.rmdir()
        raise WorktreeError(f"git worktree add failed: {exc}") from None
    return resolve_worktree(location)


def _own_location(location: Path) -> bool:
    """Make the worktree's directory ourselves (True), or accept an empty one that is a real directory of ours
    (False): one that another user made first, or a symlink, in a shared parent such as /tmp would give them the
    checkout (and the ignored files the bootstrap copies into it). Made here, not by git, so that nobody can
    slip one in between the check and git's mkdir."""
    location.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(location, 0o755)
        return True
    except FileExistsError:
        pass
    st = os.lstat(location)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise WorktreeError(f"worktree location {location} is not a directory of yours (another user's, or a symlink);"
                            " refusing to put a worktree there")  # fmt: skip
    return False


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
    out = run_git(path, "ls-files", "--others", "--ignored", "--exclude-standard", "--directory", "-z")
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
    info = resolve_worktree(path)
    status = run_git(path, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames")
    entries = [e for e in status.split("\0") if len(e) > 3]
    untracked = [e[3:] for e in entries if e.startswith("??")]
    if len(untracked) < len(entries):
        reasons.append("uncommitted changes")
    if untracked:
        reasons.append(f"{len(untracked)} untracked file(s) ({_listed(untracked)})")
    ignored = ignored_files(path, info.main_root)
    if ignored:
        reasons.append(f"{len(ignored)} ignored file(s) ({_listed(ignored)})")
    if _has_commit(path):
        args = ["rev-list", "--count", "HEAD", "--not", "--remotes"]
        if not info.branch.startswith("HEAD@") and info.branch != "(unborn)":
            # Commits that also live on another local branch are not at risk; this branch's own ones are.
            args += [f"--exclude={info.branch}", "--branches"]
        try:
            count = int(run_git(path, *args).strip() or "0")
        except (GitCommandError, ValueError):
            count = 0
        if count:
            reasons.append(f"{count} commit(s) on no remote or other branch")
    return reasons


def prune_worktrees(repo_root: str) -> None:
    """``git worktree prune`` in the repository: drops git's records of worktrees deleted from disk."""
    try:
        run_git(repo_root, "worktree", "prune")
    except (GitCommandError, OSError) as exc:
        raise WorktreeError(f"git worktree prune in {repo_root} failed: {exc}") from None


def remove_worktree(path: str, *, force: bool) -> None:
    """Remove a linked worktree; refuse when it holds work that only lives there, unless forced.

    The branch is kept: branches are never deleted silently.
    """
    if not Path(path).exists():
        prune_worktrees(resolve_worktree(_existing_parent(Path(path))).main_root)
        return
    info = resolve_worktree(path)
    if info.is_main:
        raise WorktreeError(f"{path} is the main worktree; refusing to remove it")
    if not force:
        reasons = unsafe_reasons(path)
        if reasons:
            raise UnsafeRemovalError(f"worktree {path} has {', '.join(reasons)}; commit/push first or pass --force")
    try:
        run_git(info.main_root, "worktree", "remove", *(["--force"] if force else []), "--", path)
    except GitCommandError as exc:
        raise WorktreeError(f"git worktree remove failed: {exc}") from None


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path

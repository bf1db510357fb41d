"""Worktree resolution (files only) and creation (git with protections), on real git repos in temp dirs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tmuxclaude.adapters import git as gitx
from tmuxclaude.errors import UnsafeRemovalError, WorktreeError

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_ALLOW_PROTOCOL": "file",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _git_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HOME", str(tmp_path))


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "a.txt").write_text("a\n")
    (path / "sub").mkdir()
    (path / "sub" / "b.txt").write_text("b\n")
    git(path, "add", ".")
    git(path, "commit", "-qm", "init")
    return path


def test_plain_repo_from_root_subdir_and_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app")
    for target in (repo, repo / "sub", repo / "sub" / "b.txt"):
        info = gitx.resolve_worktree(target)
        assert info.root == str(repo) and info.branch == "main" and info.is_main
        assert info.main_root == str(repo) and info.repo_name == "app"


def test_linked_worktree(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app")
    wt = tmp_path / "app-feat"
    git(repo, "worktree", "add", "-q", "-b", "feat", str(wt))
    info = gitx.resolve_worktree(wt / "sub")
    assert info.root == str(wt) and info.branch == "feat" and not info.is_main
    assert info.main_root == str(repo) and info.repo_name == "app"


def test_nested_worktree_resolves_to_the_innermost(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app")
    nested = repo / "trees" / "feat"
    git(repo, "worktree", "add", "-q", "-b", "feat", str(nested))
    assert gitx.resolve_worktree(nested / "a.txt").root == str(nested)
    assert gitx.resolve_worktree(repo / "trees").root == str(repo)


def test_submodule_resolves_to_itself(tmp_path: Path) -> None:
    lib = make_repo(tmp_path / "lib")
    repo = make_repo(tmp_path / "app")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "vendor/lib")
    info = gitx.resolve_worktree(repo / "vendor" / "lib" / "sub")
    assert info.root == str(repo / "vendor" / "lib") and info.repo_name == "lib"


def test_path_inside_dot_git_belongs_to_its_worktree(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app")
    assert gitx.resolve_worktree(repo / ".git" / "refs").root == str(repo)


def test_bare_repo_is_a_clear_error(tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    with pytest.raises(WorktreeError, match="bare repository"):
        gitx.resolve_worktree(bare)


def test_not_a_repo_and_missing_path(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(WorktreeError, match="not inside a git repository"):
        gitx.resolve_worktree(tmp_path / "plain")
    with pytest.raises(WorktreeError, match="no such path"):
        gitx.resolve_worktree(tmp_path / "nope")


def test_unborn_and_detached_heads(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q", "-b", "trunk")
    assert gitx.resolve_worktree(empty).branch == "trunk"
    repo = make_repo(tmp_path / "app")
    git(repo, "checkout", "-q", "--detach")
    assert gitx.resolve_worktree(repo).branch.startswith("HEAD@")


def test_create_and_remove_worktree_with_safety(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app")
    info = gitx.resolve_worktree(repo)
    location = gitx.worktree_location("{parent}/{repo}-{branch}", info, "feat/x")
    assert location == tmp_path / "app-feat-x"
    created = gitx.create_worktree(info, "feat/x", base=None, location=location)
    assert created.root == str(location) and created.branch == "feat/x"
    with pytest.raises(WorktreeError, match="already exists"):
        gitx.create_worktree(info, "other", base=None, location=location)
    (location / "c.txt").write_text("c\n")
    with pytest.raises(UnsafeRemovalError, match="untracked"):
        gitx.remove_worktree(str(location), force=False)
    git(location, "add", ".")
    with pytest.raises(UnsafeRemovalError, match="uncommitted"):
        gitx.remove_worktree(str(location), force=False)
    git(location, "commit", "-qm", "c")
    with pytest.raises(UnsafeRemovalError, match="1 commit"):
        gitx.remove_worktree(str(location), force=False)
    git(repo, "merge", "-q", "feat/x")  # now the commit also lives on main: nothing at risk
    gitx.remove_worktree(str(location), force=False)
    assert not location.exists()
    assert "feat/x" in git(repo, "branch", "--list", "feat/x")  # the branch stays
    with pytest.raises(WorktreeError, match="main worktree"):
        gitx.remove_worktree(str(repo), force=True)

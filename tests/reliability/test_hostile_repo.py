"""Finding 3: a repository whose own git config runs commands (unpacked from an archive, or a directory of
another user's that a pane cds into): a partial clone whose promisor remote is an ``ext::`` command, a
``core.fsmonitor`` command, a ``core.hooksPath`` with hooks, a clean/smudge filter. Each writes a marker file when
it runs; `open`, `new`, `kill --remove-worktree`, `ls`, the worktree offer and auto-start must run none of them.
On 6eae274 the promisor and fsmonitor commands ran (GitPython ran git with the repository's config)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from tests.helpers.env import Env, ls_json
from tests.helpers.tty_client import attached_client
from tests.helpers.waiting import retry_until
from tests.reliability.reliability_helpers import daemon_status

pytestmark = pytest.mark.timeout(90)


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _arm(repo: Path, marks: Path, *, missing_head: bool) -> None:
    """Turn ``repo`` hostile: every way its config can name a command, each touching ``marks/<kind>``."""
    (repo / ".gitattributes").write_text("* filter=evil\n")
    _git(repo, "add", ".gitattributes")
    _git(repo, "-c", "core.hooksPath=/dev/null", "commit", "-qm", "attributes")
    hooks = repo / ".git" / "evil-hooks"
    hooks.mkdir()
    for hook in ("post-checkout", "pre-commit", "post-index-change", "reference-transaction"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {marks}/hook-{hook}\n")
        (hooks / hook).chmod(0o755)
        (repo / ".git" / "hooks" / hook).write_text(f"#!/bin/sh\ntouch {marks}/dothook-{hook}\n")
        (repo / ".git" / "hooks" / hook).chmod(0o755)
    settings = {
        "core.fsmonitor": f"touch {marks}/fsmonitor; false",
        "core.hooksPath": str(hooks),
        "filter.evil.clean": f"sh -c 'touch {marks}/filter-clean; cat'",
        "filter.evil.smudge": f"sh -c 'touch {marks}/filter-smudge; cat'",
        "core.repositoryformatversion": "1",
        "extensions.partialClone": "origin",
        "remote.origin.url": f"ext::sh -c touch% {marks}/promisor-ext",
        "remote.origin.promisor": "true",
        "protocol.ext.allow": "always",
        "core.pager": f"touch {marks}/pager; cat",
    }
    for key, value in settings.items():
        _git(repo, "config", key, value)
    if missing_head:
        # A detached HEAD at an object the clone does not have: reading it means a lazy fetch from the promisor.
        (repo / ".git" / "HEAD").write_text("1234567890abcdef1234567890abcdef12345678\n")


def _assert_nothing_ran(env: Env, marks: Path) -> None:
    ran = sorted(p.name for p in marks.iterdir())
    assert not ran, f"commands from the repository's config ran: {ran}"


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    path = tmp_path / "marks"
    path.mkdir()
    return path


def test_armed_repo_really_runs_its_commands(env: Env, marks: Path) -> None:
    """The control: plain git in the armed repository runs them (so the markers are real)."""
    repo = env.make_repo("armed")
    _arm(repo, marks, missing_head=False)
    subprocess.run(["git", "status"], cwd=repo, capture_output=True, check=False)
    subprocess.run(["git", "fetch", "origin"], cwd=repo, capture_output=True, check=False)
    names = {p.name for p in marks.iterdir()}
    assert "fsmonitor" in names and "promisor-ext" in names, names


def test_new_kill_ls_in_a_hostile_repo_run_nothing(env: Env, marks: Path) -> None:
    env.start_tmux()
    env.use_recorder()
    repo = env.make_repo("hostile")
    _arm(repo, marks, missing_head=False)
    env.cli("new", "-d", "hx", cwd=repo)
    (item,) = ls_json(env)
    worktree = Path(item["worktree"])
    assert (worktree / "README.md").read_text() == "hello\n"
    env.cli("ls")
    (worktree / "notes.txt").write_text("work\n")
    out = env.cli("kill", "--remove-worktree", "hx", check=False)
    assert out.returncode == 5 and "untracked" in out.stderr, out.stderr
    (worktree / "notes.txt").unlink()
    env.cli("kill", "--remove-worktree", "hx")
    assert not worktree.exists()
    _assert_nothing_ran(env, marks)


def test_open_offer_and_auto_start_in_a_hostile_repo_run_nothing(env: Env, marks: Path) -> None:
    """Detection reads files only: `open` in the repository, a pane that cds into its linked worktree (the
    offer), and a file of it opened in the instance's Neovim (auto-start); `new` from its missing HEAD fails in
    one line, without the lazy fetch."""
    from tmuxclaude.adapters.nvim import NvimClient

    env.start_tmux()
    env.use_recorder("[multi_instance]\nauto_start_for_worktree = true\n")
    repo = env.make_repo("promised")
    linked = repo.parent / "promised-wt"
    _git(repo, "worktree", "add", "-q", "-b", "other", str(linked))
    (linked / "sub").mkdir()
    (linked / "sub" / "file.txt").write_text("x\n")
    (repo / "sub").mkdir()
    _arm(repo, marks, missing_head=True)
    (repo / ".git" / "worktrees" / "promised-wt" / "HEAD").write_text("1234567890abcdef1234567890abcdef12345678\n")
    env.cli("open", "-d", cwd=repo / "sub")
    (item,) = ls_json(env)
    assert item["worktree"] == str(repo) and item["branch"] == "HEAD@1234567"
    with attached_client(env):
        env.tmux("new-window", "-d", "-t", "main:", "-c", str(linked / "sub"))
        retry_until(lambda: any("offered an instance" in e for e in daemon_status(env)["events"]), 15, "the offer")

    async def open_in_neovim() -> None:
        nvim = await NvimClient.connect(item["nvim_socket"])
        try:
            await nvim.exec_lua("vim.cmd('edit ' .. vim.fn.fnameescape(...))", str(linked / "sub" / "file.txt"))
        finally:
            await nvim.close()

    retry_until(lambda: daemon_status(env)["servers"][item["id"]]["nvim"], 15, "Neovim attached")
    asyncio.run(open_in_neovim())
    retry_until(lambda: any(i["worktree"] == str(linked) for i in ls_json(env)), 15, "the auto-started instance")
    out = env.cli("new", "-d", "from-missing", cwd=repo, check=False)
    assert out.returncode != 0 and out.stderr.count("\n") == 1, out.stderr
    _assert_nothing_ran(env, marks)

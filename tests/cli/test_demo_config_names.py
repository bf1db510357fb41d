"""Defects users met: demo, config errors, empty repos, names across repos (real tmux, git, the console script)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.env import Env, ls_json

pytestmark = pytest.mark.timeout(120)


def one_line_error(out: subprocess.CompletedProcess[str], code: int) -> str:
    assert out.returncode == code, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    return out.stderr


# -- demo ---------------------------------------------------------------------------------------------------


def test_demo_into_an_existing_directory_is_one_line_and_touches_nothing(world: Env, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep\n")
    err = one_line_error(world.cli("demo", "--dir", str(mine), "--no-attach", check=False), 4)
    assert str(mine) in err and "not empty" in err
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_demo_at_the_instance_limit_refuses_before_starting_anything(world: Env, repo: Path) -> None:
    world.use_recorder("[multi_instance]\nmax_instances = 2\n")
    world.cli("new", "-d", "busy", cwd=repo)
    err = one_line_error(world.cli("demo", "--no-attach", check=False), 7)
    assert "max_instances is 2" in err and "busy" in err
    assert [i["name"] for i in ls_json(world)] == ["busy"]


def test_default_demo_is_replaced_by_the_next_and_removed_by_gc(world: Env) -> None:
    first = world.cli("demo", "--no-attach").stdout.splitlines()
    assert first[0].startswith("demo repo: ") and sum(line.startswith("started ") for line in first) == 2
    repo = Path(first[0].removeprefix("demo repo: "))
    assert repo.is_dir() and repo.is_relative_to(Path(world.vars["XDG_STATE_HOME"]))  # not a new temp dir per run
    again = world.cli("demo", "--no-attach").stdout
    assert "replaced the previous demo (2 instance(s) stopped)" in again
    assert len(ls_json(world)) == 2
    world.cli("kill-all")
    assert "removed the unused demo repo" in world.cli("gc").stdout
    assert not repo.parent.exists()


# -- config -------------------------------------------------------------------------------------------------


def test_a_formatter_that_does_not_import_is_a_config_error(world: Env, repo: Path) -> None:
    world.use_recorder('[instance_naming]\nformat = "custom"\ncustom_formatter = "nosuchmod:fn"\n')
    err = one_line_error(world.cli("new", "feat-x", cwd=repo, check=False), 3)
    assert "instance_naming.custom_formatter" in err and "nosuchmod" in err and "internal error" not in err
    # The same with a controller already running (the edited config is picked up by the next command).
    world.use_recorder()
    world.cli("ls")
    world.use_recorder('[instance_naming]\nformat = "custom"\ncustom_formatter = "nosuchmod:fn"\n')
    err = one_line_error(world.cli("new", "feat-x", cwd=repo, check=False), 3)
    assert "instance_naming.custom_formatter" in err


def test_toml_syntax_error_names_file_and_line(world: Env) -> None:
    path = world.write_config("[limits]\nmax_rss_mb = 1\nidle_minutes = \n")
    err = one_line_error(world.cli("ls", check=False), 3)
    assert f"{path}: line 3, column 16: TOML syntax error" in err
    path.write_bytes(b"[limits]\nmax_rss_mb = 1 # \xff\n")
    err = one_line_error(world.cli("ls", check=False), 3)
    assert str(path) in err and "UTF-8" in err


@pytest.mark.parametrize("value", ["-1", "-0.5", "nan", "inf", '"5"'])
def test_idle_minutes_must_be_a_number_of_at_least_zero(world: Env, value: str) -> None:
    world.write_config(f"[limits]\nidle_minutes = {value}\n")
    err = one_line_error(world.cli("ls", check=False), 3)
    assert "limits.idle_minutes" in err


# -- git ----------------------------------------------------------------------------------------------------


def test_new_in_a_repo_without_commits_says_commit_first(world: Env) -> None:
    empty = world.home / "projects" / "fresh"
    empty.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=empty, check=True)
    err = one_line_error(world.cli("new", "feat-x", cwd=empty, check=False), 4)
    assert "has no commits yet" in err and "commit first" in err
    err = one_line_error(world.cli("new", "feat-x", "--base", "HEAD", cwd=empty, check=False), 4)
    assert "not a valid object name: 'HEAD'" in err  # git's quotes intact


def test_demo_on_a_machine_where_tmux_never_ran_starts_the_server(
    env: Env, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's first command on a fresh machine: no tmux server, no $TMUX_TMPDIR/tmux-UID yet. tmux makes
    that directory only when it picks the socket itself; we name it, so it must be made for the first server."""
    env.use_recorder()
    fresh = Path(env.short / "fresh-tmpdir")
    fresh.mkdir(mode=0o700)
    monkeypatch.delenv("TMUXCLAUDE_TMUX_SOCKET")
    monkeypatch.setenv("TMUX_TMPDIR", str(fresh))
    socket = fresh / f"tmux-{os.getuid()}" / "default"
    try:
        out = env.cli("demo", "--dir", str(tmp_path / "demo"), "--no-attach", check=False)
        assert out.returncode == 0, out.stderr
        assert "started feature-a" in out.stdout and "started feature-b" in out.stdout
        assert (socket.parent.stat().st_mode & 0o777) == 0o700
        windows = subprocess.run(
            ["tmux", "-S", str(socket), "list-windows", "-a", "-F", "#{window_name}"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        assert {"feature-a", "feature-b"} <= set(windows)
    finally:
        env.cli("daemon", "stop", check=False)
        subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True, check=False)

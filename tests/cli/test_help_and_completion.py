"""The shell surface: -h everywhere, full help texts, and instance names completed through click's own
completion protocol (the environment variables the sourced bash/zsh/fish scripts set)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import click
import pytest

from tests.helpers.env import Env
from tmuxclaude.cli.app import cli

pytestmark = pytest.mark.timeout(90)


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    out = []
    for name, cmd in sorted(group.commands.items()):
        if cmd.hidden:
            continue
        out.append(((*path, name), cmd))
        if isinstance(cmd, click.Group):
            out += _commands(cmd, (*path, name))
    return out


def complete(env: Env, shell: str, words: str) -> subprocess.CompletedProcess[str]:
    """What the sourced completion script asks: COMP_WORDS/COMP_CWORD, the last word being completed (bash and
    zsh pass its index, fish the word itself)."""
    parts = words.split(" ")
    cword = parts[-1] if shell == "fish" else str(len(parts) - 1)
    extra = {"_TMUXCLAUDE_COMPLETE": f"{shell}_complete", "COMP_WORDS": words, "COMP_CWORD": cword}
    return subprocess.run(
        ["tmuxclaude"], capture_output=True, text=True, timeout=30, check=False, env={**os.environ, **extra}
    )


def test_dash_h_and_full_help_texts(env: Env) -> None:
    top = env.cli("-h")
    assert "-h, --help" in top.stdout
    for path, cmd in _commands(cli):
        assert cmd.help, f"{' '.join(path)} has no help text"
        out = env.cli(*path, "-h")
        assert out.stdout.startswith(f"Usage: tmuxclaude {' '.join(path)}"), out.stdout
    # Summaries in every command list are whole sentences, never cut with "...".
    for listing in (top.stdout, env.cli("daemon", "-h").stdout):
        commands = listing.split("Commands:", 1)[1]
        assert "..." not in commands, commands
        assert all(line.strip().endswith(".") for line in commands.strip().splitlines()), commands


def test_instance_names_complete_for_every_command_taking_one(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "-d", "feat-a", cwd=repo)
    env.cli("new", "-d", "feat-b", cwd=repo)
    env.cli("new", "-d", "other", cwd=repo)
    for words in ("tmuxclaude switch fe", "tmuxclaude kill fe", "tmuxclaude send --to fe", "tmuxclaude pause fe",
                  "tmuxclaude resume fe"):  # fmt: skip
        out = complete(env, "bash", words)
        assert out.returncode == 0 and out.stderr == ""
        assert out.stdout.splitlines() == ["plain,feat-a", "plain,feat-b"], (words, out.stdout)
    zsh = complete(env, "zsh", "tmuxclaude switch ").stdout.splitlines()
    # zsh gets type, value and a description (branch, state, port) per item.
    assert zsh[0:2] == ["plain", "feat-a"] and zsh[2].startswith("feat-a idle :")
    fish = complete(env, "fish", "tmuxclaude switch o").stdout.splitlines()
    assert fish[0:2] == ["plain", "other"] and fish[2].startswith("other idle :") and len(fish) == 3


def test_completion_without_a_controller_is_silent_and_starts_nothing(world: Env) -> None:
    env = world
    out = complete(env, "bash", "tmuxclaude switch ")
    assert (out.returncode, out.stdout.strip(), out.stderr) == (0, "", "")
    assert env.cli("daemon", "status", check=False).returncode == 1  # still not running
    # Commands and options still complete (click's own part), and paths as paths.
    assert "plain,switch" in complete(env, "bash", "tmuxclaude sw").stdout.splitlines()
    for words in ("tmuxclaude open ", "tmuxclaude send --to x "):
        assert complete(env, "bash", words).stdout.splitlines() == ["file,"], words

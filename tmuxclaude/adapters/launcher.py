"""How the programs of an instance's panes are started: the environment in a private file, the launchers on argv.

A pane's environment holds what the user put in ``[commands] claude_env`` / ``shell_env`` (proxies, gateways,
Bedrock/Vertex credentials). Passed as ``tmux -e KEY=VALUE`` it would be on the argv of the tmux client (every local
user can read ``/proc/*/cmdline``) and, when that client started the server, on the tmux server's argv for its whole
life. So the controller writes it to ``<runtime dir>/<id>.<pane>.env`` (0600 in the 0700 runtime dir, rewritten on
every spawn and respawn, never trusted from an earlier run) and the pane runs a small bash launcher
(``launch/pane.sh`` for Neovim, ``launch/claude.sh`` for Claude) that exports it: argv carries only paths, the port
and the command.

The file is NUL-separated ``KEY=VALUE`` records: a value may hold any character but NUL (which no environment can
hold), and the launcher hands each record to ``export`` as one word, so nothing is parsed as shell. The file stays
until the instance is torn down: it holds nothing the config file does not, and a launcher restarted by tmux itself
(``respawn-pane`` by hand) still finds it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from importlib.resources import files
from pathlib import Path

from tmuxclaude.adapters.fsutil import write_private
from tmuxclaude.errors import ConfigError

__all__ = [
    "claude_pane_command",
    "encode_env",
    "env_file",
    "nvim_pane_command",
    "remove_env_files",
    "write_env_file",
]

PANES = ("claude", "nvim")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _script(name: str) -> str:
    return str(files("tmuxclaude") / "launch" / name)


def env_file(runtime_dir: Path, instance_id: str, pane: str) -> Path:
    """Where the environment of ``pane`` ("claude" or "nvim") of an instance is handed over."""
    return runtime_dir / f"{instance_id}.{pane}.env"


def encode_env(env: Mapping[str, str]) -> bytes:
    """``KEY=VALUE\\0`` records; a name that is not a shell identifier or a value with NUL is a config error."""
    out = bytearray()
    for key, value in env.items():
        if not _NAME.match(key):
            raise ConfigError(f"environment variable name {key!r} (commands.claude_env / shell_env) is not valid")
        if "\0" in value:
            raise ConfigError(f"environment variable {key} (commands.claude_env / shell_env) contains a NUL byte")
        out += f"{key}={value}".encode() + b"\0"
    return bytes(out)


def write_env_file(path: Path, env: Mapping[str, str]) -> None:
    """Write the pane environment atomically, 0600 (the directory is the caller's private runtime dir); not
    fsynced: it is rewritten at every (re)spawn, before the launcher reads it."""
    write_private(path, encode_env(env), durable=False)


def remove_env_files(runtime_dir: Path, instance_id: str) -> None:
    for pane in PANES:
        with contextlib.suppress(OSError):
            env_file(runtime_dir, instance_id, pane).unlink()


def nvim_pane_command(env_path: Path, command: Sequence[str]) -> list[str]:
    """argv of the Neovim pane: the launcher exports ``env_path`` and execs ``command``."""
    return ["bash", _script("pane.sh"), str(env_path), "--", *command]


def claude_pane_command(env_path: Path, *, port: int, token_file: Path, name: str, command: Sequence[str]) -> list[str]:
    """argv of the Claude pane: the launcher exports ``env_path``, runs ``command``, and when it exits keeps the
    pane, reports the exit to the instance's IDE port (authenticated by ``token_file``) and offers a restart."""
    return ["bash", _script("claude.sh"), str(env_path), str(port), str(token_file), name, "--", *command]

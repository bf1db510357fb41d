"""``tmuxclaude doctor``: tools, directories, config, lock files, hosts and instances, one ``[ok]``/``[!!]`` line
each; exits 1 when something needs fixing. The click application (``cli.app``) only registers it."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import click

from tmuxclaude.adapters.paths import config_path
from tmuxclaude.cli import client
from tmuxclaude.errors import TmuxClaudeError
from tmuxclaude.model.view import InstanceView, from_wire

if TYPE_CHECKING:
    from tmuxclaude.cli.app import App

__all__ = ["doctor", "tool_version"]


def tool_version(cmd: list[str]) -> str | None:
    """The first line ``cmd`` (a tool's version command) prints; None when the tool is not on PATH."""
    exe = shutil.which(cmd[0])
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, *cmd[1:]], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "?"


def _claude_check(command: list[str]) -> tuple[bool, str, bool]:
    """The Claude CLI's version against the tested range, and whether the CLI answered at all; bounded even when
    the CLI never answers."""
    from tmuxclaude.adapters.claude_cli import probe_version, supported_range
    from tmuxclaude.model.claude import format_version, upgrade_note

    tested = supported_range()
    probe = probe_version(command, timeout=3.0)
    if probe.status == "not_found":
        return False, f"{probe.command} not found on PATH (tested with Claude Code {tested.describe()})", False
    if probe.status == "no_answer":
        return False, f"{probe.command} did not answer --version within 3 s", False
    if probe.status == "failed" or probe.version is None:
        return False, f"{probe.command} --version failed: {probe.text or 'no version in its output'}", True
    if not tested.contains(probe.version):
        side = "older" if probe.version < tested.oldest else "newer"
        return (
            False,
            f"{probe.text} is {side} than the tested range {tested.describe()}"
            f" (current: {format_version(tested.current)})",
            True,
        )
    return True, f"{probe.text} (tested range {tested.describe()}){upgrade_note(probe.version, tested)}", True


def _report_permission(report: Any, config: Any, pane_env: dict[str, str]) -> None:
    """The permission mode a Claude started here would get, and who chose it (user, project, managed, tmuxclaude)."""
    from tmuxclaude.adapters.claude_cli import LocalClaudeCli
    from tmuxclaude.adapters.git import resolve_worktree

    try:
        where = resolve_worktree(os.getcwd()).root
    except TmuxClaudeError:
        where = os.getcwd()
    try:
        choice = LocalClaudeCli().permission_choice(config.commands.claude, config.claude.permission_mode, where,
                                                    pane_env)  # fmt: skip
    except TmuxClaudeError as exc:
        report(False, "permission mode", str(exc))
        return
    report(True, "permission mode", f"{choice.mode or '(set in the command)'}, chosen by {choice.chosen_by}: "
                                    f"{choice.reason}")  # fmt: skip


@click.command()
@click.pass_obj
def doctor(app: App) -> None:
    """Check tools, directories, config and lock files.

    Exits 1 when something needs fixing.
    """
    from tmuxclaude.adapters.configfile import load_config

    problems = 0

    def report(ok: bool, label: str, detail: str) -> None:
        nonlocal problems
        problems += 0 if ok else 1
        click.echo(f"[{'ok' if ok else '!!'}] {label}: {detail}")

    paths = app.paths
    try:
        config = load_config()
        report(True, "config", str(config_path()) + ("" if config_path().exists() else " (defaults)"))
    except TmuxClaudeError as exc:
        report(False, "config", str(exc))
        from tmuxclaude.model.config import Config

        config = Config()
    for label, cmd in (
        ("tmux", ["tmux", "-V"]),
        ("git", ["git", "--version"]),
    ):
        version = tool_version(cmd)
        report(version is not None, label, version or f"{cmd[0]} not found on PATH")
    from tmuxclaude.adapters.neovim_check import neovim_check

    nvim_ok, nvim_detail = neovim_check(config.commands.nvim[:1])
    report(nvim_ok, "nvim", nvim_detail)
    ok, detail, answered = _claude_check(config.commands.claude)
    report(ok, "claude", detail)
    from tmuxclaude.adapters.claudecheck import claude_start_checks

    pane_env = {**config.commands.shell_env, **config.commands.claude_env}
    # A CLI that is missing or does not answer --version would not answer these either: no second wait.
    for finding in claude_start_checks(config.commands.claude, pane_env) if answered else []:
        report(finding.ok, finding.label, finding.detail)
    _report_permission(report, config, pane_env)
    report(True, "tmux socket", paths.tmux_socket)
    from tmuxclaude.adapters.paths import check_private_dir

    for label, path, root in (
        ("runtime dir", paths.runtime_dir, paths.runtime_root),
        ("state dir", paths.state_dir, paths.state_root),
        ("lock dir", paths.lock_dir, None),
    ):
        try:
            # Owner, symlinks and write bits of every component from the top of our chain (what the CLI and the
            # controller refuse), then the mode of the dir itself.
            exists = check_private_dir(path, root)
        except TmuxClaudeError as exc:
            report(False, label, str(exc))
            continue
        if exists:
            mode = stat.S_IMODE(path.stat().st_mode)
            report(mode & 0o077 == 0, label, f"{path} (mode {mode:04o})")
        else:
            report(True, label, f"{path} (not created yet)")
    from tmuxclaude.adapters.lockfiles import LockDir
    from tmuxclaude.adapters.procs import pid_alive

    stale = [p for p, d in LockDir(paths.lock_dir).ours().items() if not pid_alive(d.get("pid"))]
    report(
        not stale,
        "lock files",
        f"stale: {', '.join(map(str, sorted(stale)))} (run `tmuxclaude gc`)" if stale else "no stale lock files",
    )
    from tmuxclaude.cli.hostcheck import check_hosts

    for ok, label, detail in check_hosts(config, paths):
        report(ok, label, detail)
    running = client.controller_running(paths)
    report(True, "controller", "running" if running else "not running (starts on demand)")
    items = [from_wire(i) for i in app.request("ls", autostart=False)] if running else []
    from tmuxclaude.adapters.foreign_locks import foreign_claims

    names = {i.worktree: i.name for i in items if i.worktree}
    for claim in foreign_claims(paths.lock_dir, list(names)):
        who = f"{claim.ide}, pid {claim.pid}" if claim.pid else claim.ide
        detail = f"{claim.port}.lock ({who}) claims {claim.folder}, the worktree of instance {names[claim.worktree]}"
        report(False, "other IDE", detail + ": its Claude may connect there; stop that IDE's Claude integration")
    for item in items:
        if isinstance(item, InstanceView) and item.state == "exited" and item.exit:
            # What the CLI itself said when it stopped (the first error line its pane showed).
            ended = item.exit
            said = f": {ended['headline']}" if ended.get("headline") else ""
            report(False, f"instance {item.name}", f"Claude exited ({ended['status']}){said}; "
                   f"r in its pane or `tmuxclaude resume {item.name}`")  # fmt: skip
    sys.exit(1 if problems else 0)

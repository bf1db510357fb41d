"""The click application: thin commands that ask the controller and print its answer."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from typing import Any

import click

from tmuxclaude import __version__
from tmuxclaude.adapters.paths import Paths, config_path
from tmuxclaude.cli import client, render
from tmuxclaude.errors import TmuxClaudeError

__all__ = ["cli"]


class _Group(click.Group):
    """The one place a TmuxClaudeError becomes a message and an exit code (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TmuxClaudeError as exc:
            click.echo(f"tmuxclaude: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except ExceptionGroup as group:
            click.echo(f"tmuxclaude: {'; '.join(str(e) for e in group.exceptions)}", err=True)
            ctx.exit(1)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="tmuxclaude")
def cli() -> None:
    """Run many Claude Code sessions side by side, one per git worktree, each wired to its own Neovim."""


def _print_instance(item: dict[str, Any], verb: str) -> None:
    click.echo(render.instance_line(item, verb))


@cli.command()
@click.argument("branch")
@click.option("--base", metavar="REF", help="Start the new branch from REF (default: HEAD).")
@click.option("-d", "--detached", is_flag=True, help="Do not switch to the new window.")
def new(branch: str, base: str | None, detached: bool) -> None:
    """Create a worktree + branch BRANCH beside the repo and start its instance."""
    item = client.request("new", {"branch": branch, "base": base, "detached": detached})
    _print_instance(item, "started")


@cli.command("open")
@click.argument("path", required=False, default="")
@click.option("--nvim-server", default="", help="Join this running Neovim (its v:servername) instead of a new one.")
@click.option("-d", "--detached", is_flag=True, help="Do not switch to the window.")
def open_(path: str, nvim_server: str, detached: bool) -> None:
    """Focus the instance of the worktree holding PATH (default: here), creating it if needed."""
    args = {"path": os.path.abspath(path) if path else "", "nvim_server": nvim_server, "detached": detached}
    item = client.request("open", args)
    _print_instance(item, "focused" if item.get("existing") else "started")


@cli.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--stats", is_flag=True, help="Add memory and CPU of each instance's process tree.")
def ls(as_json: bool, stats: bool) -> None:
    """List instances; the one in the current window is marked *active*."""
    items = client.request("ls", {"stats": stats or as_json})
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    for item in items:
        line = render.ls_line(item)
        if stats and "stats" in item:
            s = item["stats"]
            line += f"  rss {s['rss_mb']} MB  cpu {s['cpu_percent']}%  procs {s['processes']}"
        click.echo(line)


@cli.command()
@click.argument("ref")
def switch(ref: str) -> None:
    """Switch to instance REF (number, name or branch)."""
    client.request("switch", {"ref": ref})


@cli.command()
@click.argument("ref", required=False)
@click.option("--remove-worktree", is_flag=True, help="Also remove the worktree (never the branch).")
@click.option("--force", is_flag=True, help="Remove the worktree even with uncommitted or unpushed work.")
def kill(ref: str | None, remove_worktree: bool, force: bool) -> None:
    """Stop instance REF (default: the one of this pane or directory)."""
    item = client.request("kill", {"ref": ref, "remove_worktree": remove_worktree, "force": force})
    suffix = " (worktree removed)" if item.get("worktree_removed") else ""
    click.echo(f"killed {item['name']}{suffix}")


@cli.command("kill-all")
def kill_all() -> None:
    """Stop every instance (worktrees stay)."""
    names = client.request("kill_all")
    click.echo(f"killed {len(names)} instance(s)" + (f": {', '.join(names)}" if names else ""))


_FILE_RANGE = re.compile(r"^(?P<file>.+?):(?P<l1>\d+)(?:-(?P<l2>\d+))?$")


@cli.command()
@click.argument("target")
@click.option("--to", "to", metavar="NAME", help="Instance to send to (default: this pane's or directory's).")
def send(target: str, to: str | None) -> None:
    """Mention FILE[:L1-L2] in a Claude's input box (lines 1-based), like :ClaudeCodeSend."""
    match = _FILE_RANGE.match(target)
    file, l1, l2 = (match["file"], int(match["l1"]), int(match["l2"] or match["l1"])) if match else (target, 0, 0)
    if match and (l1 < 1 or l2 < l1):
        raise click.BadParameter(f"bad line range in {target!r}", param_hint="TARGET")
    args = {
        "to": to,
        "file": file,
        "line_start": l1 - 1 if match else None,
        "line_end": l2 - 1 if match else None,
    }
    item = client.request("send", args)
    click.echo(f"sent {render.shorten_home(item['file'])} to {item['name']}")


@cli.command()
@click.option("--client", "client_name", default="", help="tmux client to show the menu on.")
def pick(client_name: str) -> None:
    """Choose an instance from a tmux menu (name, branch, state, port) and switch to it."""
    from tmuxclaude.cli.pick import pick as show

    show(client_name)


@cli.command("next")
def next_waiting() -> None:
    """Switch to the next instance waiting for input."""
    client.request("next_waiting")


@cli.command()
@click.argument("ref", required=False)
def pause(ref: str | None) -> None:
    """Stop an instance's Claude (Neovim, worktree and branch stay); `resume` brings it back."""
    item = client.request("pause", {"ref": ref})
    click.echo(f"paused {item['name']}")


@cli.command()
@click.argument("ref", required=False)
def resume(ref: str | None) -> None:
    """Start a paused instance's Claude again, continuing its conversation."""
    item = client.request("resume", {"ref": ref})
    click.echo(f"resumed {item['name']}")


@cli.command()
def restore() -> None:
    """After tmux or the machine restarted: rebuild every instance's window; each Claude resumes its session."""
    items = client.request("restore")
    for item in items:
        _print_instance(item, "restored")
    if not items:
        click.echo("nothing to restore")


@cli.command()
def status() -> None:
    """One line for a status bar: instances by state (the tmux plugin reads @tmuxclaude_summary instead)."""
    from tmuxclaude.model.instance import InstanceState
    from tmuxclaude.model.states import summary_text

    items = client.request("ls", autostart=False)
    click.echo(summary_text(InstanceState(i["state"]) for i in items))


@cli.command()
def gc() -> None:
    """Remove stale lock files and dead instances (only tmuxclaude's own)."""
    result = client.request("gc")
    click.echo(f"removed {len(result['removed_locks'])} stale lock file(s), {len(result['removed_sockets'])} socket(s)")


def _version(cmd: list[str]) -> str | None:
    exe = shutil.which(cmd[0])
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, *cmd[1:]], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "?"


@cli.command()
def doctor() -> None:
    """Check tools, directories, config and lock files; exit 1 when something needs fixing."""
    from tmuxclaude.adapters.configfile import load_config

    problems = 0

    def report(ok: bool, label: str, detail: str) -> None:
        nonlocal problems
        problems += 0 if ok else 1
        click.echo(f"[{'ok' if ok else '!!'}] {label}: {detail}")

    paths = Paths.current()
    try:
        config = load_config()
        report(True, "config", str(config_path()) + ("" if config_path().exists() else " (defaults)"))
    except TmuxClaudeError as exc:
        report(False, "config", str(exc))
        from tmuxclaude.model.config import Config

        config = Config()
    for label, cmd in (
        ("tmux", ["tmux", "-V"]),
        ("nvim", [*config.commands.nvim[:1], "--version"]),
        ("claude", [*config.commands.claude[:1], "--version"]),
        ("git", ["git", "--version"]),
    ):
        version = _version(cmd)
        report(version is not None, label, version or f"{cmd[0]} not found on PATH")
    from tmuxclaude.adapters.claudecheck import claude_start_checks

    pane_env = {**config.commands.shell_env, **config.commands.claude_env}
    for finding in claude_start_checks(config.commands.claude, pane_env):
        report(finding.ok, finding.label, finding.detail)
    report(True, "tmux socket", paths.tmux_socket)
    for label, path in (
        ("runtime dir", paths.runtime_dir),
        ("state dir", paths.state_dir),
        ("lock dir", paths.lock_dir),
    ):
        if path.exists():
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
    running = client.controller_running(paths)
    report(True, "controller", "running" if running else "not running (starts on demand)")
    for item in client.request("ls", autostart=False) if running else []:
        if item.get("state") == "exited" and item.get("exit"):
            # What the CLI itself said when it stopped (the first error line its pane showed).
            ended = item["exit"]
            said = f": {ended['headline']}" if ended.get("headline") else ""
            report(False, f"instance {item['name']}", f"Claude exited ({ended['status']}){said}; "
                   f"r in its pane or `tmuxclaude resume {item['name']}`")  # fmt: skip
    sys.exit(1 if problems else 0)


@cli.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False), help="Where to build it (default: a temp dir).")
@click.option("--no-attach", is_flag=True, help="Do not attach tmux afterwards.")
def demo(directory: str | None, no_attach: bool) -> None:
    """Build a throwaway repo with two worktrees and open both instances, to see the whole thing at once."""
    from tmuxclaude.cli.demo import run_demo

    for line in run_demo(directory, attach=not no_attach):
        click.echo(line)


@cli.command("nvim-path")
def nvim_path() -> None:
    """Print the Neovim runtime dir to add to 'runtimepath' so your own Neovim gets the :ClaudeCode commands."""
    from importlib.resources import files

    click.echo(str(files("tmuxclaude") / "nvim"))


@cli.group()
def daemon() -> None:
    """Control the controller (it starts on demand; you rarely need these)."""


@daemon.command("start")
def daemon_start() -> None:
    paths = Paths.current()
    if client.controller_running(paths):
        click.echo("controller already running")
        return
    client.start_controller(paths)
    click.echo("controller started")


@daemon.command("stop")
def daemon_stop() -> None:
    stopped = client.stop_controller(Paths.current())
    click.echo("controller stopped" if stopped else "controller was not running")


@daemon.command("status")
@click.option("--json", "as_json", is_flag=True)
def daemon_status(as_json: bool) -> None:
    """Exit 0 when the controller runs, 1 when it does not."""
    try:
        status = client.request("status", autostart=False)
    except TmuxClaudeError:
        click.echo("controller not running")
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(status, indent=2))
    else:
        click.echo(f"controller pid {status['pid']}, up {status['uptime']}s, {status['instances']} instance(s)")


@daemon.command("run", hidden=True)
@click.option("--tmux-socket", default=None)
def daemon_run(tmux_socket: str | None) -> None:
    from tmuxclaude.controller.daemon import run

    sys.exit(run(tmux_socket))

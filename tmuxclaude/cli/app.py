"""The click application: thin commands that ask the controller and print its answer."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click
from click.shell_completion import CompletionItem

from tmuxclaude import __version__
from tmuxclaude.adapters.paths import Paths, config_path
from tmuxclaude.cli import client
from tmuxclaude.errors import TmuxClaudeError
from tmuxclaude.model import view

__all__ = ["cli"]


@dataclass
class App:
    """What every command shares, in ``ctx.obj`` (as click's examples/repo does): the controller client and
    where this tmux server's files are. The root group builds it; ``pass_app`` hands it to a command."""

    request: Callable[..., Any] = field(default=client.request)

    @property
    def paths(self) -> Paths:
        return Paths.current()


pass_app = click.make_pass_decorator(App, ensure=True)


class _Group(click.Group):
    """The one place a TmuxClaudeError becomes a message and an exit code (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TmuxClaudeError as exc:
            click.echo(view.printable(f"tmuxclaude: {exc}"), err=True)
            ctx.exit(exc.exit_code)
        except ExceptionGroup as group:
            click.echo(view.printable(f"tmuxclaude: {'; '.join(str(e) for e in group.exceptions)}"), err=True)
            ctx.exit(1)


def _complete_instance(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Instance names for shell completion. Never starts the controller and never prints an error: a shell
    completing a word must get an answer (possibly none) at once."""
    try:
        items = client.request("ls", {"cached": True}, autostart=False, timeout=2.0)
        return [
            CompletionItem(item["name"], help=f"{item['branch']} {item['state']} :{item['port']}")
            for item in items
            if str(item["name"]).startswith(incomplete)
        ]
    except Exception:
        return []


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tmuxclaude")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Run many Claude Code sessions side by side, one per git worktree, each wired to its own Neovim.

    Shell completion (instance names included): see the README, or run
    `_TMUXCLAUDE_COMPLETE=bash_source tmuxclaude` (zsh_source, fish_source).
    """
    ctx.obj = App(request=client.request)


def _print_instance(item: dict[str, Any], verb: str) -> None:
    click.echo(view.instance_line(item, verb))


@cli.command()
@click.argument("branch")
@click.option("--base", metavar="REF", help="Start the new branch from REF (default: HEAD).")
@click.option("-d", "--detached", is_flag=True, help="Do not switch to the new window.")
@click.option("--host", metavar="NAME", help="Create it on this [hosts.NAME] host (by its own tmuxclaude).")
@click.option("--repo", metavar="PATH", help="With --host: the repository there (default: the host's repo).")
@pass_app
def new(app: App, branch: str, base: str | None, detached: bool, host: str | None, repo: str | None) -> None:
    """Create a worktree + branch and start its instance.

    The worktree goes beside the repo (see [worktrees] dir in the config); an existing BRANCH is checked out.
    A BRANCH that already has an instance is refused, naming that instance (`switch` goes there).
    """
    if host:
        if base:
            raise click.BadParameter("--base is not supported with --host", param_hint="--base")
        args = {"branch": branch, "base": None, "detached": detached, "host": host, "repo": repo or ""}
        _print_instance(app.request("new", args), "started")
        return
    if repo:
        raise click.BadParameter("--repo needs --host (locally the repository is the current directory's)")
    item = app.request("new", {"branch": branch, "base": base, "detached": detached})
    _print_instance(item, "started")


@cli.command("open")
@click.argument("path", required=False, default="", type=click.Path())
@click.option("--nvim-server", default="", help="Join this running Neovim (its v:servername) instead of a new one.")
@click.option("-d", "--detached", is_flag=True, help="Do not switch to the window.")
@click.option("--yes", is_flag=True, help="Promoting a Claude session that runs in another pane: end it there.")
@pass_app
def open_(app: App, path: str, nvim_server: str, detached: bool, yes: bool) -> None:
    """Focus the instance of a worktree, starting it if needed.

    PATH (default: the current directory) may be any file or directory inside the worktree. A word that is no
    path (no "/", nothing of that name here) is a Claude session from `tmuxclaude ls --all` (its number, name or
    id): it becomes an instance, with its own worktree, window and Neovim, and its conversation continues there.
    """
    if path and "/" not in path and not os.path.lexists(path):
        from tmuxclaude.cli.sessions import open_session

        open_session(app, path, detached=detached, yes=yes)
        return
    args = {"path": os.path.abspath(path) if path else "", "nvim_server": nvim_server, "detached": detached}
    item = app.request("open", args)
    _print_instance(item, "focused" if item.get("existing") else "started")


@cli.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--stats", is_flag=True, help="Add memory and CPU of each instance's process tree.")
@click.option("--all", "show_all", is_flag=True, help="Also Claude Code sessions tmuxclaude did not start.")
@pass_app
def ls(app: App, as_json: bool, stats: bool, show_all: bool) -> None:
    """List instances; the current window's is marked *active*."""
    items = app.request("ls", {"stats": stats or as_json})
    if show_all:
        from tmuxclaude.cli.sessions import print_all

        print_all(app, items, as_json=as_json)
        return
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    for item in items:
        line = view.ls_line(item)
        if stats and "stats" in item:
            s = item["stats"]
            line += f"  rss {s['rss_mb']} MB  cpu {s['cpu_percent']}%  procs {s['processes']}"
        click.echo(line)


@cli.command()
@click.argument("ref", shell_complete=_complete_instance)
@pass_app
def switch(app: App, ref: str) -> None:
    """Switch to an instance.

    REF is its number in `ls`, its name, its branch, its repo's name or REPO/BRANCH.
    """
    app.request("switch", {"ref": ref})


@cli.command()
@click.argument("ref", required=False, shell_complete=_complete_instance)
@click.option("--remove-worktree", is_flag=True, help="Also remove the worktree (never the branch).")
@click.option("--force", is_flag=True, help="Remove the worktree even with uncommitted or unpushed work.")
@pass_app
def kill(app: App, ref: str | None, remove_worktree: bool, force: bool) -> None:
    """Stop an instance (default: this pane's or directory's).

    REF is a number, name, branch, repo name or REPO/BRANCH, as for `switch`. The worktree and the branch stay
    unless --remove-worktree is given; work that only lives there is never removed without --force.
    """
    item = app.request("kill", {"ref": ref, "remove_worktree": remove_worktree, "force": force})
    suffix = " (worktree removed)" if item.get("worktree_removed") else ""
    click.echo(f"killed {item['name']}{suffix}")


@cli.command("kill-all")
@pass_app
def kill_all(app: App) -> None:
    """Stop every instance (worktrees stay)."""
    names = app.request("kill_all")
    click.echo(f"killed {len(names)} instance(s)" + (f": {', '.join(names)}" if names else ""))


_FILE_RANGE = re.compile(r"^(?P<file>.+?):(?P<l1>\d+)(?:-(?P<l2>\d+))?$")


@cli.command()
@click.argument("target", type=click.Path(), required=False)  # completes as a file
@click.option(
    "--to", "to", metavar="NAME", shell_complete=_complete_instance,
    help="Instance to send to (default: this pane's or directory's).",
)  # fmt: skip
@click.option("--pane", metavar="PANE", help="Send this tmux pane's recent output (as a file) instead of TARGET.")
@pass_app
def send(app: App, target: str | None, to: str | None, pane: str | None) -> None:
    """Mention a file (or a pane's output) to a Claude.

    Lines are 1-based and inclusive, like :ClaudeCodeSend in Neovim; the text lands in the input box as
    @FILE#L1-L2, ready for a question. With --pane PANE (a pane id like %3, or session:window.pane), the last
    2000 lines (at most 48 KB) of that pane's output, without colours or control characters, go into a private
    file outside the worktree, and that file is mentioned.
    """
    if pane is not None:
        if target:
            raise click.UsageError("give either TARGET or --pane, not both")
        done = app.request("send_terminal", {"pane": pane, "ref": to})
        click.echo(f"sent {done['lines']} lines of {done['pane']} to {done['name']} as {done['file']}")
        return
    if not target:
        raise click.UsageError("missing TARGET (a file) or --pane PANE")
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
    item = app.request("send", args)
    click.echo(f"sent {view.shorten_home(item['file'])} to {item['name']}")


@cli.group()
def review() -> None:
    """Send the line comments made in an instance's Neovim."""


@review.command("send")
@click.argument("ref", required=False, shell_complete=_complete_instance)
@pass_app
def review_send(app: App, ref: str | None) -> None:
    """Send every open comment of instance REF (default: this pane's or directory's) to its Claude as one prompt;
    queued while that Claude is busy or waiting, delivered when it is idle."""
    done = app.request("review_send", {"ref": ref})
    click.echo(view.printable(f"{done['name']}: {done['message']}"))


@cli.command()
@click.option("--client", "client_name", default="", help="tmux client to show the menu on.")
def pick(client_name: str) -> None:
    """Choose an instance from a tmux menu and switch to it.

    The menu shows each instance's name, branch, state and port; 1-9 pick directly.
    """
    from tmuxclaude.cli.pick import pick as show

    show(client_name)


@cli.command("next")
@pass_app
def next_waiting(app: App) -> None:
    """Switch to the next instance waiting for input."""
    app.request("next_waiting")


@cli.command()
@click.argument("ref", required=False, shell_complete=_complete_instance)
@pass_app
def pause(app: App, ref: str | None) -> None:
    """Stop an instance's Claude; Neovim and the worktree stay.

    `resume` brings it back, continuing the same conversation.
    """
    item = app.request("pause", {"ref": ref})
    click.echo(f"paused {item['name']}")


@cli.command()
@click.argument("ref", required=False, shell_complete=_complete_instance)
@pass_app
def resume(app: App, ref: str | None) -> None:
    """Start a paused instance's Claude again.

    Claude continues the conversation it had when it was paused.
    """
    item = app.request("resume", {"ref": ref})
    click.echo(f"resumed {item['name']}")


@cli.command()
@pass_app
def restore(app: App) -> None:
    """Rebuild every instance after tmux or the machine restarted.

    Each window comes back on its old port; each Claude resumes its own conversation.
    """
    items = app.request("restore")
    for item in items:
        _print_instance(item, "restored")
    if not items:
        click.echo("nothing to restore")


@cli.command()
@pass_app
def status(app: App) -> None:
    """One status-bar line: instances by state.

    The tmux plugin does not need it (it reads @tmuxclaude_summary, no process per redraw).
    """
    from tmuxclaude.model.instance import InstanceState
    from tmuxclaude.model.states import summary_text

    items = app.request("ls", autostart=False)
    click.echo(summary_text(InstanceState(i["state"]) for i in items))


@cli.command()
@pass_app
def gc(app: App) -> None:
    """Remove stale lock files and dead instances (only ours).

    Lock files of other IDEs are never touched.
    """
    from tmuxclaude.cli.demo import remove_unused_demo

    result = app.request("gc")
    click.echo(
        f"removed {len(result['removed_locks'])} stale lock file(s), {len(result['removed_sockets'])} socket(s), "
        f"{len(result.get('removed_files', []))} hook file(s)"
    )
    for name in result.get("dropped", []):
        click.echo(f"dropped {name}: all its panes had exited")
    if remove_unused_demo():
        click.echo("removed the unused demo repo")


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


@cli.command()
@pass_app
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
        version = _version(cmd)
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
    items = app.request("ls", autostart=False) if running else []
    from tmuxclaude.adapters.foreign_locks import foreign_claims

    names = {str(i.get("worktree")): str(i.get("name")) for i in items if i.get("worktree")}
    for claim in foreign_claims(paths.lock_dir, list(names)):
        who = f"{claim.ide}, pid {claim.pid}" if claim.pid else claim.ide
        detail = f"{claim.port}.lock ({who}) claims {claim.folder}, the worktree of instance {names[claim.worktree]}"
        report(False, "other IDE", detail + ": its Claude may connect there; stop that IDE's Claude integration")
    for item in items:
        if item.get("state") == "exited" and item.get("exit"):
            # What the CLI itself said when it stopped (the first error line its pane showed).
            ended = item["exit"]
            said = f": {ended['headline']}" if ended.get("headline") else ""
            report(False, f"instance {item['name']}", f"Claude exited ({ended['status']}){said}; "
                   f"r in its pane or `tmuxclaude resume {item['name']}`")  # fmt: skip
    sys.exit(1 if problems else 0)


@cli.command()
@click.option("--json", "as_json", is_flag=True, required=True, help="JSON lines (the only format).")
def watch(as_json: bool) -> None:
    """Print the instances as JSON, on every change.

    One JSON line now and one after every change: what another machine's tmuxclaude reads over ssh for its
    [hosts.NAME] entry. Ends when the controller stops or stdin closes.
    """
    from tmuxclaude.cli.watch import watch as run_watch

    sys.exit(run_watch())


@cli.command()
@click.argument("ref")
def attach(ref: str) -> None:
    """Attach tmux, showing an instance's window.

    What `switch HOST:NAME` runs on that host over ssh -t. The view is a session of its own, gone when it
    detaches; the instance keeps running.
    """
    from tmuxclaude.cli.watch import attach as run_attach

    run_attach(ref)


@cli.command("host-info", hidden=True)
def host_info() -> None:
    """What `doctor` on another machine asks: versions of tmuxclaude and of the tools it drives here."""
    from tmuxclaude.cli.hostcheck import host_info as info

    click.echo(json.dumps(info()))


@cli.command()
@click.option("--dir", "directory", type=click.Path(), help="A new or empty directory to build it in.")
@click.option("--no-attach", is_flag=True, help="Do not attach tmux afterwards.")
def demo(directory: str | None, no_attach: bool) -> None:
    """Try it out: a throwaway repo with two worktrees, both open.

    The repo goes into --dir (new or empty), or by default into tmuxclaude's state dir, where the next `demo`
    replaces it and `gc` removes it once none of its instances runs.
    """
    from tmuxclaude.cli.demo import run_demo

    for line in run_demo(directory, attach=not no_attach):
        click.echo(line)


@cli.command("nvim-path")
def nvim_path() -> None:
    """Print the Neovim runtime dir (for your own 'runtimepath').

    Added to 'runtimepath', it gives your own Neovim the :ClaudeCode commands.
    """
    from importlib.resources import files

    click.echo(str(files("tmuxclaude") / "nvim"))


@cli.group()
def daemon() -> None:
    """Control the controller (it starts on demand).

    One controller per tmux server serves every instance; you rarely need these.
    """


@daemon.command("start")
@pass_app
def daemon_start(app: App) -> None:
    """Start the controller for this tmux server.

    Every command starts it when needed; this only does it ahead of time.
    """
    paths = app.paths
    if client.controller_running(paths):
        click.echo("controller already running")
        return
    client.start_controller(paths)
    click.echo("controller started")


@daemon.command("stop")
@pass_app
def daemon_stop(app: App) -> None:
    """Stop the controller; windows and Claudes stay.

    Its lock files go; the next command starts it again and it serves every instance on its old port.
    """
    stopped = client.stop_controller(app.paths)
    click.echo("controller stopped" if stopped else "controller was not running")


@daemon.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output, with recent events.")
@pass_app
def daemon_status(app: App, as_json: bool) -> None:
    """Whether the controller runs (exit 0) or not (exit 1)."""
    try:
        status = app.request("status", autostart=False)
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
    from tmuxclaude.controller.compose import run

    sys.exit(run(tmux_socket))

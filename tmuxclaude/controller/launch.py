"""How an instance is launched: the Claude command line, the per-pane environment, the per-instance files
Claude reads (hook settings, hook token, IDE lock file), and the tmux window or pane the two programs run in.

Each pane runs a launcher (``adapters/launcher.py``) that takes its environment from a private file written here
on every (re)spawn: nothing from the config is ever on a tmux or pane argv."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
from importlib.resources import files
from typing import Any

from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.controller.status import glyph
from tmuxclaude.errors import InstanceError
from tmuxclaude.model.claude_sessions import lock_workspace
from tmuxclaude.model.instance import Instance, InstanceState
from tmuxclaude.model.session_ids import resume_argv
from tmuxclaude.model.states import hook_events
from tmuxclaude.protocol.lockfile import LockRecord

__all__ = [
    "FALLBACK_SESSION",
    "claude_command",
    "claude_pane_argv",
    "create_panes",
    "kill_panes",
    "pane_env",
    "remove_hook_files",
    "respawn_claude",
    "resume_args",
    "write_hook_files",
    "write_lock",
]

log = logging.getLogger(__name__)

FALLBACK_SESSION = "tmuxclaude"
"""The session instance windows go to when the caller is not inside tmux."""


def pane_env(rt: Runtime, inst: Instance) -> dict[str, str]:
    env = dict(rt.config.commands.shell_env)
    env.update(rt.config.commands.claude_env)
    env.update(
        {
            "CLAUDE_CODE_SSE_PORT": str(inst.port),
            "ENABLE_IDE_INTEGRATION": "true",
            "CLAUDE_INSTANCE_ID": inst.id,
            "CLAUDE_WORKTREE_PATH": inst.worktree,
        }
    )
    if "CLAUDE_CONFIG_DIR" not in env and os.environ.get("CLAUDE_CONFIG_DIR"):
        # The CLI must scan the directory the lock file is in.
        env["CLAUDE_CONFIG_DIR"] = os.environ["CLAUDE_CONFIG_DIR"]
    # The CLI sends even ws://127.0.0.1 through an HTTP proxy unless loopback is excluded.
    for key in ("no_proxy", "NO_PROXY"):
        current = env.get(key, os.environ.get(key, ""))
        extra = "127.0.0.1,localhost,::1"
        env[key] = f"{current},{extra}" if current else extra
    return env


def claude_command(rt: Runtime, inst: Instance, extra: list[str]) -> list[str]:
    """The command that starts (or resumes, or restarts) this instance's Claude.

    The settings file it names holds hooks Claude runs, so it is rewritten here, at every launch, with the
    hook token it reads: what is on disk is never trusted (a file swapped meanwhile is replaced, not used).
    The permission mode is the user's if they chose one anywhere, else the one that asks before each edit
    (model/claude.py).
    """
    write_hook_files(rt, inst)
    # --settings adds a layer: the user's own settings and hooks stay in force.
    command = rt.config.commands.claude
    mode = rt.ports.claude_cli.permission_choice(
        command, rt.config.claude.permission_mode, inst.worktree, pane_env(rt, inst)
    )
    rt.permissions[inst.id] = mode
    log.info("%s: permission mode %s, chosen by %s: %s", inst.name, mode.mode or "(the CLI's)", mode.chosen_by,
             mode.reason)  # fmt: skip
    return [*command, *mode.args, "--settings", str(rt.ports.paths.settings_file(inst.id)), *extra]


def claude_pane_argv(rt: Runtime, inst: Instance, extra: list[str]) -> list[str]:
    """What the Claude pane runs: the launcher, after its environment file is (re)written for this start."""
    rt.ports.paths.ensure_runtime_dir()
    launcher = rt.ports.launcher
    env_path = launcher.env_file(rt.ports.paths.runtime_dir, inst.id, "claude")
    launcher.write_env_file(env_path, pane_env(rt, inst))
    return launcher.claude_pane_command(
        env_path,
        port=inst.port,
        token_file=rt.ports.paths.hook_token_file(inst.id),
        name=inst.name,
        command=claude_command(rt, inst, extra),
    )


def _nvim_pane_argv(rt: Runtime, inst: Instance) -> list[str]:
    launcher = rt.ports.launcher
    env_path = launcher.env_file(rt.ports.paths.runtime_dir, inst.id, "nvim")
    pane_env = {**rt.config.commands.shell_env, "TMUXCLAUDE_INSTANCE_ID": inst.id, **launcher.nvim_instance_env()}
    launcher.write_env_file(env_path, pane_env)
    return launcher.nvim_pane_command(
        env_path, [*rt.config.commands.nvim, *launcher.nvim_instance_args, "--listen", inst.nvim_socket]
    )


def write_hook_files(rt: Runtime, inst: Instance) -> None:
    """The per-instance Claude settings (our hooks) and the hook token they read, both 0600, in a runtime dir
    checked to be ours alone; each written through a fresh temp file and a rename (a symlink planted at the name
    is replaced, never followed)."""
    rt.ports.paths.ensure_runtime_dir()
    script = str(files("tmuxclaude") / "hooks" / "hook.sh")
    token_file = rt.ports.paths.hook_token_file(inst.id)
    hooks: dict[str, Any] = {}
    version = rt.ports.claude_cli.version(rt.config.commands.claude, pane_env(rt, inst))
    for event in hook_events(version):
        command = " ".join(shlex.quote(a) for a in ("bash", script, event, str(inst.port), str(token_file)))
        entry: dict[str, Any] = {"hooks": [{"type": "command", "command": command, "timeout": 5}]}
        if event in ("PreToolUse", "PostToolUse"):
            entry["matcher"] = "*"
        hooks[event] = [entry]
    # Not fsynced (durable=False): both are rewritten at every launch, before Claude reads them.
    rt.ports.files.write_private(token_file, inst.hook_token + "\n", durable=False)
    rt.ports.files.write_private(
        rt.ports.paths.settings_file(inst.id), json.dumps({"hooks": hooks}, indent=1), durable=False
    )


def remove_hook_files(rt: Runtime, instance_id: str) -> None:
    """Every per-instance file in the runtime dir: hook settings, hook token, the panes' environment files."""
    for path in (rt.ports.paths.settings_file(instance_id), rt.ports.paths.hook_token_file(instance_id)):
        with contextlib.suppress(OSError):
            path.unlink()
    rt.ports.launcher.remove_env_files(rt.ports.paths.runtime_dir, instance_id)


def write_lock(rt: Runtime, inst: Instance) -> None:
    record = LockRecord(
        pid=os.getpid(),
        workspace_folders=lock_workspace(
            inst.worktree, inst.repo, rt.ports.claude_sessions.has_claude_worktrees(inst.repo)
        ),
        ide_name=f"Neovim ({inst.name})",
        auth_token=inst.token,
        instance_id=inst.id,
        worktree_path=inst.worktree,
        created_at=inst.created_at,
        neovim_pid=inst.nvim_pid,
        parent_port=inst.parent_port,
    )
    rt.ports.locks.write(inst.port, record)


def window_options(rt: Runtime, inst: Instance) -> dict[str, str]:
    """The ``@tmuxclaude_*`` tags of an instance's window: the live registry of targets."""
    return {
        "id": inst.id,
        "name": inst.name,
        "port": str(inst.port),
        "state": "idle",
        "glyph": glyph(rt, InstanceState.IDLE),
        "worktree": inst.worktree,
        "branch": inst.branch,
    }


def create_panes(rt: Runtime, inst: Instance, client: ClientContext, focus: bool, extra: list[str]) -> Instance:
    """The instance's window (Neovim + Claude), or its Claude pane beside a user's own Neovim. Blocking."""
    options = window_options(rt, inst)
    claude_cmd = claude_pane_argv(rt, inst, extra)
    if inst.external_nvim:
        # A user's own Neovim joined with :ClaudeCode: the Claude pane goes beside it, in its window.
        info = rt.ports.tmux.pane_info(client.pane) if client.pane else None
        if info is None:
            raise InstanceError("joining an existing Neovim needs its tmux pane (run :ClaudeCode inside tmux)")
        claude_pane = rt.ports.tmux.split(client.pane, cwd=inst.worktree, cmd=claude_cmd)
        rt.ports.tmux.set_window_options(info["window_id"], options)
        return inst.with_(
            session_id=info["session_id"],
            window_id=info["window_id"],
            nvim_pane=client.pane,
            claude_pane=claude_pane,
            tmux_server=rt.ports.tmux.server_id(),
        )
    session = None
    if client.pane:
        info = rt.ports.tmux.pane_info(client.pane)
        session = info["session_id"] if info else None
    rt.ports.paths.ensure_runtime_dir()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(inst.nvim_socket)
    window = rt.ports.tmux.create_instance_window(
        session=session,
        fallback_session=FALLBACK_SESSION,
        name=inst.name,
        cwd=inst.worktree,
        nvim_cmd=_nvim_pane_argv(rt, inst),
        claude_cmd=claude_cmd,
        options=options,
        focus=focus and bool(client.pane),
    )
    if focus and client.pane and window.session_id != session:
        # Made in the caller's session, the window and Claude's pane are selected already (by the same tmux
        # command); only another session needs the caller's client switched. Each tmux call costs a fork while
        # Claude starts.
        rt.ports.tmux.select(window.window_id, window.claude_pane, client.pane)
    return inst.with_(
        session_id=window.session_id,
        window_id=window.window_id,
        nvim_pane=window.nvim_pane,
        claude_pane=window.claude_pane,
        tmux_server=window.server_id or rt.ports.tmux.server_id(),
    )


def resume_args(inst: Instance) -> list[str]:
    """How Claude continues this instance's own conversation (its session id comes from its hooks)."""
    return resume_argv(inst.claude_session_id)


def respawn_claude(rt: Runtime, inst: Instance, extra: list[str]) -> None:
    """Run Claude again in the instance's Claude pane (same pane id), with the instance's current port/env."""
    rt.ports.tmux.respawn(inst.claude_pane, cwd=inst.worktree, cmd=claude_pane_argv(rt, inst, extra))


def kill_panes(rt: Runtime, inst: Instance) -> None:
    if inst.external_nvim:
        # The window is the user's own: take our pane and our tags out of it, leave the rest.
        rt.ports.tmux.kill_pane(inst.claude_pane)
        rt.ports.tmux.untag_window(inst.window_id)
    elif inst.window_id:
        rt.ports.tmux.kill_window(inst.window_id)

"""``doctor`` for each ``[hosts.NAME]``: one line per host (reachable, tmuxclaude compatible, tmux, nvim and
claude there), from one ssh call that runs the host's ``tmuxclaude host-info``."""

from __future__ import annotations

import json
from typing import Any

from tmuxclaude import __version__
from tmuxclaude.adapters.paths import Paths
from tmuxclaude.adapters.ssh import SshHost, last_line
from tmuxclaude.errors import HostError
from tmuxclaude.model.config import Config
from tmuxclaude.model.hosts import remote_argv
from tmuxclaude.model.view import printable
from tmuxclaude.protocol import watch

__all__ = ["check_hosts", "host_info"]


def host_info() -> dict[str, Any]:
    """This machine's side of the check."""
    from tmuxclaude.adapters.claude_cli import probe_version
    from tmuxclaude.adapters.configfile import load_config
    from tmuxclaude.cli.doctor import tool_version

    config = load_config()
    probe = probe_version(config.commands.claude, timeout=3.0)
    return {
        "version": __version__,
        "watch": watch.PROTOCOL,
        "tmux": tool_version(["tmux", "-V"]),
        "nvim": tool_version([*config.commands.nvim[:1], "--version"]),
        "claude": probe.text if probe.status == "ok" else None,
    }


def _text(value: Any) -> str | None:
    return printable(value[:80]) if isinstance(value, str) and value else None


def check_hosts(config: Config, paths: Paths) -> list[tuple[bool, str, str]]:
    out: list[tuple[bool, str, str]] = []
    for name, host in config.hosts.items():
        label = f"host {name}"
        try:
            done = SshHost(host, paths).run(remote_argv(host, ["host-info"]), timeout=host.connect_timeout + 15)
        except HostError as exc:
            out.append((False, label, f"unreachable: {str(exc).removeprefix(label + ': ')}"))
            continue
        if done.returncode != 0:
            said = last_line(done.stderr, f"exit {done.returncode}")
            out.append((False, label, f"reachable, but `{host.tmuxclaude} host-info` failed: {said}"))
            continue
        try:
            info = json.loads(done.stdout)
            assert isinstance(info, dict)
        except (ValueError, AssertionError):
            out.append((False, label, "reachable, but its tmuxclaude gave no host-info (too old?)"))
            continue
        version = _text(info.get("version")) or "?"
        missing = [tool for tool in ("tmux", "nvim", "claude") if not _text(info.get(tool))]
        compatible = info.get("watch") == watch.PROTOCOL
        parts = [f"tmuxclaude {version}" + ("" if compatible else f" (incompatible: watch {info.get('watch')!r})")]
        parts += [f"{tool} {_text(info.get(tool))}" for tool in ("tmux", "nvim", "claude") if tool not in missing]
        parts += [f"{tool} missing" for tool in missing]
        out.append((compatible and not missing, label, "reachable; " + ", ".join(parts)))
    return out

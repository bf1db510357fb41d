"""Reading the Claude CLI from outside: install layout, settings files, a bounded --version."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tmuxclaude.adapters.claude_cli import LocalClaudeCli, install_version, probe_version, settings_modes


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def test_install_version_from_npm_layout_and_native_layout(tmp_path: Path) -> None:
    pkg = tmp_path / "node_modules" / "@anthropic-ai" / "claude-code"
    exe = _script(pkg / "bin" / "claude.exe", "exit 1\n")
    (pkg / "package.json").write_text(json.dumps({"name": "@anthropic-ai/claude-code", "version": "2.1.332"}))
    link = tmp_path / "bin" / "claude"
    link.parent.mkdir()
    link.symlink_to(exe)
    assert install_version([str(link)]) == (2, 1, 332)
    native = _script(tmp_path / "share" / "claude" / "versions" / "2.1.197", "exit 1\n")
    assert install_version([str(native)]) == (2, 1, 197)
    # The platform binary package: its package.json names the SDK package and version; the versions file maps it,
    # and the version file scripts/install-claude writes beside the binary wins.
    platform = tmp_path / "sdk" / "package"
    sdk = _script(platform / "claude", "exit 1\n")
    (platform / "package.json").write_text(
        json.dumps({"name": "@anthropic-ai/claude-agent-sdk-linux-x64", "version": "0.3.336"})
    )
    assert install_version([str(sdk)]) == (2, 1, 336)
    (platform / "claude-code-version").write_text("2.1.335\n")
    os.utime(sdk, ns=(1, 1))  # the cache is keyed by the binary's stat
    assert install_version([str(sdk)]) == (2, 1, 335)
    # A wrapper script tells nothing, and nothing is run to find out.
    assert install_version([str(_script(tmp_path / "wrap" / "claude", f"touch {tmp_path}/ran\n"))]) is None
    assert not (tmp_path / "ran").exists()
    assert install_version(["no-such-claude-binary"]) is None


def test_settings_modes_reads_every_level_and_ignores_hostile_files(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    worktree = tmp_path / "wt"
    (worktree / ".claude").mkdir(parents=True)
    config.mkdir()
    env = {"CLAUDE_CONFIG_DIR": str(config), "HOME": str(tmp_path)}
    assert settings_modes(str(worktree), env) == []
    (config / "settings.json").write_text(json.dumps({"permissions": {"defaultMode": "auto"}}))
    (worktree / ".claude" / "settings.local.json").write_text(json.dumps({"permissions": {"defaultMode": "default"}}))
    modes = settings_modes(str(worktree), env)
    assert [m for _, m in modes] == ["default", "auto"]
    # A FIFO (would block a plain open) and broken JSON are no choice, and never hang.
    os.mkfifo(worktree / ".claude" / "settings.json")
    (worktree / ".claude" / "settings.local.json").write_text("{not json")
    t0 = time.monotonic()
    assert [m for _, m in settings_modes(str(worktree), env)] == ["auto"]
    assert time.monotonic() - t0 < 1


def test_local_cli_uses_the_pane_config_dir(tmp_path: Path) -> None:
    config = tmp_path / "paneconfig"
    config.mkdir()
    (config / "settings.json").write_text(json.dumps({"permissions": {"defaultMode": "acceptEdits"}}))
    choice = LocalClaudeCli().permission_choice(["claude"], "", str(tmp_path), {"CLAUDE_CONFIG_DIR": str(config)})
    assert choice.args == ()
    # No `claude` on the pane's PATH (whatever this machine has installed): its version is unknown.
    pane = {"CLAUDE_CONFIG_DIR": str(tmp_path), "PATH": str(tmp_path / "empty")}
    choice = LocalClaudeCli().permission_choice(["claude"], "", str(tmp_path), pane)
    assert choice.args == ("--permission-mode", "default")


def test_probe_version_is_bounded_and_tells_not_found_from_no_answer(tmp_path: Path) -> None:
    ok = _script(tmp_path / "ok", 'echo "2.1.332 (Claude Code)"\n')
    assert probe_version([str(ok)]).version == (2, 1, 332)
    assert probe_version([str(tmp_path / "missing")]).status == "not_found"
    # A CLI that never answers, with a child holding the output pipe open.
    hang = _script(tmp_path / "hang", "sleep 60 &\nsleep 60\n")
    t0 = time.monotonic()
    probe = probe_version([str(hang)], timeout=0.5)
    assert probe.status == "no_answer" and time.monotonic() - t0 < 3
    bad = _script(tmp_path / "bad", "echo boom >&2\nexit 3\n")
    assert probe_version([str(bad)]).status == "failed"

"""Throwaway HOME/config and environment for running the real Claude Code CLI against :mod:`mock_api`.

Why each key and variable is there: docs/claude-code-versions.md (what differs per CLI) and the comments below.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tests.e2e.screen import Pane

__all__ = [
    "CLAUDE_VARS",
    "FAKE_API_KEY",
    "REPO_ROOT",
    "SpawnClaude",
    "claude_binary",
    "claude_versions",
    "commands_toml",
    "prepare_claude_home",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
# Variables the CLI needs in a sandbox; the rest of the pane's environment is what tmux gives every pane.
CLAUDE_VARS = (
    "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "DISABLE_TELEMETRY", "DISABLE_ERROR_REPORTING",
    "DISABLE_AUTOUPDATER", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
    "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL", "CLAUDE_CODE_IDE_SKIP_AUTO_INSTALL",
    "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY", "DISABLE_COST_WARNINGS", "TERM", "LANG",
)  # fmt: skip
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-claude"
VERSIONS_FILE = REPO_ROOT / "tmuxclaude" / "claude-code-versions"

#: Sent as ``x-api-key``; any string works against the mock. Its last 20 chars are pre-approved.
FAKE_API_KEY = "sk-ant-api03-tmuxclaude-e2e-fake-key-0123456789abcdefghij"

_NO_PROXY = "127.0.0.1,localhost,::1"

#: Variables copied from the test process into the CLI's environment (when set).
_PASSTHROUGH = ("PATH", "USER", "LOGNAME", "SHELL", "TZ", "TMPDIR")


class SpawnClaude(Protocol):
    """Type of the ``spawn_claude`` fixture (tests/e2e/conftest.py)."""

    def __call__(
        self,
        *args: str,
        cwd: Path | None = None,
        extra_env: Mapping[str, str] | None = None,
        extra_config: Mapping[str, Any] | None = None,
    ) -> Pane: ...


def claude_versions() -> list[str]:
    """The tested CLI versions, oldest first (tmuxclaude/claude-code-versions: the one file that lists them)."""
    fields = (line.split("#", 1)[0].split() for line in VERSIONS_FILE.read_text().splitlines())
    # A line is "VERSION [PACKAGE]": the package only tells scripts/install-claude where that version comes from.
    return [f[0] for f in fields if f]


@functools.cache
def claude_binary(version: str) -> Path:
    """Install (or find cached) CLI ``version`` via ``scripts/install-claude`` and return its path.

    Runs the script once per version and test session. Raises ``RuntimeError`` when the CLI cannot be
    installed: e2e tests must fail, never silently skip.
    """
    try:
        proc = subprocess.run(
            [str(INSTALL_SCRIPT), version],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"cannot run {INSTALL_SCRIPT}: {exc}") from exc
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"{INSTALL_SCRIPT} failed (exit {proc.returncode})\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        )
    binary = Path(lines[-1])
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        raise RuntimeError(f"{INSTALL_SCRIPT} printed {binary}, which is not an executable file")
    return binary


def _project_entry() -> dict[str, Any]:
    return {
        "allowedTools": [],
        "hasTrustDialogAccepted": True,
        "hasCompletedProjectOnboarding": True,
        "projectOnboardingSeenCount": 1,
        "hasClaudeMdExternalIncludesApproved": False,
        "hasClaudeMdExternalIncludesWarningShown": True,
        "mcpServers": {},
        "enabledMcpjsonServers": [],
        "disabledMcpjsonServers": [],
    }


def prepare_claude_home(
    home: Path,
    *,
    api_url: str,
    trusted_dirs: Iterable[Path],
    version: str | None = None,
    api_key: str = FAKE_API_KEY,
    extra_config: Mapping[str, Any] | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Write ``$home/.claude/.claude.json`` and return the complete environment for the CLI.

    ``version`` is the CLI's (release notes and onboarding are marked seen for it; default: the current one).
    ``trusted_dirs`` get ``hasTrustDialogAccepted`` (keyed by their realpath, as the CLI looks them up).
    ``extra_config`` is merged (shallowly) into ``.claude.json``, e.g. ``{"autoConnectIde": True}``;
    ``extra_env`` is added to the returned environment, e.g. ``{"CLAUDE_CODE_SSE_PORT": "1234"}``.
    The returned dict is meant to be the *whole* environment (it carries PATH), not an overlay.
    """
    home = Path(home)
    config_dir = home / ".claude"
    config_dir.mkdir(parents=True, exist_ok=True)
    version = version or claude_versions()[-1]

    config: dict[str, Any] = {
        "hasCompletedOnboarding": True,
        "lastOnboardingVersion": version,
        "lastReleaseNotesSeen": version,
        "theme": "dark",
        "autoUpdates": False,
        "autoUpdaterStatus": "disabled",
        "numStartups": 1,
        "firstStartTime": "2026-01-01T00:00:00.000Z",
        "hasCompletedProjectOnboarding": True,
        "hasSeenTasksHint": True,
        "hasUsedBackslashReturn": True,
        "shiftEnterKeyBindingInstalled": True,
        "bypassPermissionsModeAccepted": True,
        # 2.1.332: no "Try the new fullscreen renderer?" dialog at start-up (it counts how often it was shown).
        "fullscreenUpsellSeenCount": 100,
        "isQualifiedForDataSharing": False,
        "customApiKeyResponses": {"approved": [api_key[-20:]], "rejected": []},
        "projects": {os.path.realpath(d): _project_entry() for d in trusted_dirs},
    }
    if extra_config:
        config.update(extra_config)
    (config_dir / ".claude.json").write_text(json.dumps(config, indent=2) + "\n")

    env: dict[str, str] = {k: os.environ[k] for k in _PASSTHROUGH if os.environ.get(k)}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(
        {
            "HOME": str(home),
            "CLAUDE_CONFIG_DIR": str(config_dir),
            "ANTHROPIC_BASE_URL": api_url,
            "ANTHROPIC_API_KEY": api_key,
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
            "CLAUDE_CODE_IDE_SKIP_AUTO_INSTALL": "1",
            "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
            "DISABLE_COST_WARNINGS": "1",
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "no_proxy": _NO_PROXY,
            "NO_PROXY": _NO_PROXY,
        }
    )
    if extra_env:
        env.update(extra_env)
    return env


def commands_toml(claude_bin: Path, claude_env: Mapping[str, str], nvim: Iterable[str]) -> str:
    """The ``[commands]`` table of config.toml that runs this Claude (with the sandbox's variables of
    ``claude_env`` that are in :data:`CLAUDE_VARS`) and this Neovim in every instance."""
    table = ", ".join(f"{k} = {json.dumps(claude_env[k])}" for k in CLAUDE_VARS if k in claude_env)
    return (
        f"[commands]\nclaude = {json.dumps([str(claude_bin)])}\nclaude_env = {{ {table} }}\n"
        f"nvim = {json.dumps(list(nvim))}\n"
    )

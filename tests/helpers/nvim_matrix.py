"""The tested Neovims for the suite: which ones (tmuxclaude/neovim-versions), where their binaries are
(scripts/install-nvim, cached per version), and which tests run on each."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from tmuxclaude.adapters.neovim_check import tested_neovims

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-nvim"

#: Test folders whose tests run once per tested Neovim; every other test runs on the default one.
MATRIX_DIRS = ("tests/nvim", "tests/controller", "tests/e2e", "tests/nvimconfig")
#: Modules in those folders whose tests do not depend on which Neovim runs (controller lifecycle and prompt
#: delivery through tmux, fakes of the ports): once, on the default Neovim, keeps CI well under its time limit.
NOT_IN_MATRIX = (
    "tests/controller/test_lifecycle.py",
    "tests/controller/test_prompt_delivery.py",
    "tests/controller/test_prompts_screen.py",
    "tests/controller/test_unit_isolation.py",
    "tests/controller/test_use_cases.py",
)


def listed() -> list[str]:
    return tested_neovims().versions


def default_version() -> str:
    return tested_neovims().default


def picked(option: list[str] | None) -> list[str]:
    """The listed Neovims that ``--nvim-version`` picks (all of them without the option), oldest first."""
    versions = listed()
    if not option:
        return versions
    unknown = sorted(set(option) - set(versions))
    if unknown:
        import pytest

        raise pytest.UsageError(f"--nvim-version {', '.join(unknown)}: not in {versions}")
    return [v for v in versions if v in option]


def in_matrix(path: Path) -> bool:
    rel = path.resolve().relative_to(REPO_ROOT).as_posix() if path.resolve().is_relative_to(REPO_ROOT) else ""
    if rel in NOT_IN_MATRIX:
        return False
    return any(rel == d or rel.startswith(d + "/") for d in MATRIX_DIRS)


@functools.cache
def nvim_binary(version: str) -> Path:
    """That listed Neovim's binary, installed on first use by ``scripts/install-nvim`` (cached per version).

    Raises ``RuntimeError`` when it cannot be installed: a test on a listed Neovim must fail, never skip."""
    try:
        proc = subprocess.run([str(INSTALL_SCRIPT), version], capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"cannot run {INSTALL_SCRIPT}: {exc}") from exc
    for line in proc.stdout.splitlines():
        got, _, path = line.partition(" ")
        if got == version and path:
            return Path(path)
    raise RuntimeError(
        f"{INSTALL_SCRIPT} {version} failed (exit {proc.returncode})\n--- stdout ---\n{proc.stdout}\n"
        f"--- stderr ---\n{proc.stderr}"
    )

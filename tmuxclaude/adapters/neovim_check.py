"""What `tmuxclaude doctor` says about the user's Neovim: which one, and whether it is in the tested range."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from importlib.resources import files

from tmuxclaude.model.neovim import NeovimRange, format_nvim_version, parse_neovim_versions, parse_nvim_version


def tested_neovims() -> NeovimRange:
    """The tested Neovims, from the one file that lists them (package data ``neovim-versions``)."""
    return parse_neovim_versions((files("tmuxclaude") / "neovim-versions").read_text(encoding="utf-8"))


def neovim_check(command: Sequence[str], timeout: float = 5.0) -> tuple[bool, str]:
    """(ok, one line) for the configured Neovim command: its path and version, and where that stands."""
    tested = tested_neovims()
    exe = shutil.which(command[0]) if command else None
    if exe is None:
        name = command[0] if command else "nvim"
        return False, f"{name} not found on PATH (tested with Neovim {tested.describe()})"
    try:
        out = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return False, f"{exe} did not answer --version within {timeout:g} s"
    except OSError as exc:
        return False, f"{exe} --version failed: {exc.strerror or exc}"
    first = ((out.stdout or out.stderr).strip().splitlines() or ["?"])[0]
    version = parse_nvim_version(first)
    if version is None:
        return False, f"{exe}: no version in `--version` ({first[:80]})"
    label = f"{first} ({exe})"
    if not tested.contains(version):
        oldest = parse_nvim_version(tested.neovims[0].version)
        side = "older" if oldest is not None and version < oldest else "newer"
        return False, f"{label} is {side} than the tested range {tested.describe()}"
    return True, f"{label}, {format_nvim_version(version)} is in the tested range {tested.describe()}"

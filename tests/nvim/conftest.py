"""Fixtures: a real headless Neovim per test, isolated from the user's config."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.nvim.nvim_helpers import NvimProc, Recorder, attach_bridge, connect_when_ready
from tmuxclaude.adapters.nvim import NvimBridge, NvimClient


@pytest.fixture
def nvim_proc(tmp_path: Path, nvim_bin: Path) -> Iterator[NvimProc]:
    home = tmp_path / "home"
    work = tmp_path / "work"
    for d in (home, work, tmp_path / "xdg" / "config", tmp_path / "xdg" / "data", tmp_path / "xdg" / "state"):
        d.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg" / "config"),
        "XDG_DATA_HOME": str(tmp_path / "xdg" / "data"),
        "XDG_STATE_HOME": str(tmp_path / "xdg" / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg" / "cache"),
        "XDG_RUNTIME_DIR": str(tmp_path / "xdg" / "run"),
        "TERM": "xterm",
    }
    sock = tmp_path / "nvim.sock"
    proc = subprocess.Popen(
        [str(nvim_bin), "--clean", "--headless", "-n", "--listen", str(sock)],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield NvimProc(proc, str(sock), work)
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
async def nvim(nvim_proc: NvimProc) -> AsyncIterator[NvimClient]:
    client = await connect_when_ready(nvim_proc.address)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def bridge(nvim_proc: NvimProc, recorder: Recorder) -> AsyncIterator[NvimBridge]:
    b = await attach_bridge(nvim_proc, recorder, debounce_ms=20)
    try:
        yield b
    finally:
        await b.close()

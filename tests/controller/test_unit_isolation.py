"""The unit tests of the use cases and the lifecycle need none of the real tools: they pass with PATH empty."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_unit_tests_run_without_tmux_git_or_nvim_on_path() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PATH", "TMUX", "TMUX_PANE")}
    env.update(PATH="")
    files = ["tests/controller/test_use_cases.py", "tests/model/test_lifecycle.py",
             "tests/controller/test_nvim_link.py", "tests/controller/test_nvim_forms.py",
             "tests/controller/test_served.py", "tests/controller/test_pane_channel.py",
             "tests/controller/test_monitor.py", "tests/controller/test_io_ports.py"]  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "unit", *files],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert " passed" in out.stdout and "skipped" not in out.stdout

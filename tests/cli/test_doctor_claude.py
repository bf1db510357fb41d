"""`tmuxclaude doctor`'s Claude line: the version against the tested range, bounded on a CLI that hangs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.helpers.env import Env, fake_command


def _fake_claude(env: Env, body: str) -> Path:
    return fake_command(env, "claude", body)


@pytest.mark.parametrize(
    ("body", "ok", "expect"),
    [
        ('echo "2.1.336 (Claude Code)"\n', True, "2.1.336 (Claude Code) (tested range 2.1.197 to 2.1.336)"),
        # The npm package's last version is in range, and doctor says what the native build adds.
        ('echo "2.1.332 (Claude Code)"\n', True, "ends at 2.1.332, the native installer runs 2.1.336, whose Interrupt"),
        ('echo "2.1.100 (Claude Code)"\n', False, "is older than the tested range 2.1.197 to 2.1.336"),
        ('echo "2.2.0 (Claude Code)"\n', False, "is newer than the tested range 2.1.197 to 2.1.336"),
    ],
)
def test_doctor_prints_the_version_and_the_range(env: Env, body: str, ok: bool, expect: str) -> None:
    _fake_claude(env, body)
    out = env.cli("doctor", check=False)
    line = next(x for x in out.stdout.splitlines() if "] claude:" in x)
    assert line.startswith("[ok]" if ok else "[!!]") and expect in line, line


def test_doctor_does_not_wait_on_a_claude_that_never_answers(env: Env) -> None:
    path = _fake_claude(env, "sleep 60 &\nsleep 60\n")
    t0 = time.monotonic()
    out = env.cli("doctor", check=False)
    took = time.monotonic() - t0
    assert f"[!!] claude: {path} did not answer --version within 3 s" in out.stdout
    assert out.returncode == 1 and took < 10


def test_doctor_says_not_found_when_it_is_not_found(env: Env) -> None:
    env.write_config('[commands]\nclaude = ["no-such-claude-here"]\n')
    out = env.cli("doctor", check=False)
    assert "[!!] claude: no-such-claude-here not found on PATH" in out.stdout


def test_doctor_asks_claude_outside_the_callers_repository(env: Env, tmp_path: Path) -> None:
    """Finding 9: `doctor` run inside a repository whose project settings would change (or run) the login answer:
    `claude auth status` runs in your home, not there."""
    repo = env.make_repo("settings-repo")
    (repo / ".claude").mkdir()
    marker = tmp_path / "pwned-apikeyhelper"
    (repo / ".claude" / "settings.json").write_text(json.dumps({"apiKeyHelper": f"touch {marker}; echo sk-x"}))
    seen = tmp_path / "cwd"
    # The stand-in CLI reads project settings from its cwd, as the real one does (here: it "runs" the helper).
    script = f'if [ "$1" = auth ]; then pwd > {seen}; [ -f .claude/settings.json ] && touch {marker}; fi\n'
    _fake_claude(env, script + "echo '{\"loggedIn\": false}'\n")
    env.cli("doctor", cwd=repo, check=False)
    assert seen.read_text().strip() == str(env.home)
    assert not marker.exists()

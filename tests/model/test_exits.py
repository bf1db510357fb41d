"""Pure: what an exited Claude said (the headline read from its pane) and when that is worth telling at once."""

from __future__ import annotations

import pytest

from tmuxclaude.errors import ConfigError
from tmuxclaude.model.config import Config
from tmuxclaude.model.exits import ClaudeExit, error_headline, last_lines, read_footer

# As the real CLI 2.1.332 leaves its screen when it cannot reach its service (capture-pane, trailing blanks kept).
OFFLINE = """\
Welcome to Claude Code v2.1.332
..........................................................
     *                                       █████▓▓░
       █████████                                        *
      ██▄█████▄██                        *
.......█ █   █ █..........................................
 Unable to connect to Anthropic services
 Failed to connect to api.anthropic.com: ENOTFOUND
 Check your internet connection and network settings.


""".splitlines()

# 2.1.197 in a 40-column pane: no logo, a blank line between wrapped items.
NARROW = """\
Welcome to Claude Code v2.1.197

 Unable to connect to Anthropic services

 Failed to connect to api.anthropic.com:
 ECONNREFUSED

 Note: Claude Code might not be
 available in your country.
""".splitlines()


@pytest.mark.parametrize(
    ("screen", "headline"),
    [
        (OFFLINE, "Unable to connect to Anthropic services"),
        (NARROW, "Unable to connect to Anthropic services"),
        (["╭────╮", "│ > the user's prompt about errors │", "╰────╯", "Goodbye", "see you"], "Goodbye"),
        (["old output", "", "Error: boom", "    at x (y.js:1)", ""], "Error: boom"),
        (["", "  ", ""], ""),
        (["███", "░░░"], ""),
        (["x" * 50 + " " + "word " * 60], ("x" * 50 + " " + "word " * 60).strip()[:199] + "…"),
    ],
)
def test_error_headline(screen: list[str], headline: str) -> None:
    assert error_headline(screen) == headline


def test_headline_rejoins_what_the_tui_wrapped() -> None:
    screen = ["Welcome to Claude Code v2.1.197", "", " Unable to connect to Anthropic", " services", "", " Failed to"]
    assert error_headline(screen, width=38) == "Unable to connect to Anthropic services"
    # Wide enough for " services": that line was whole, the next one is another line.
    assert error_headline(OFFLINE, width=100) == "Unable to connect to Anthropic services"
    # A line that just fills the pane, then a new sentence: not a wrap.
    assert error_headline(["Unable to connect to Anthropic services", "Failed to connect"], width=39) == (
        "Unable to connect to Anthropic services"
    )


def test_read_footer_finds_the_launchers_last_footer() -> None:
    first = [" Unable to connect to Anthropic services", "", " tmuxclaude  Claude Code exited with status 1."]
    later = ["Error: boom", " tmuxclaude  Claude Code was stopped by signal 9.", "  r or Enter: start Claude again"]
    assert read_footer([*first, "restarting...", *later]) == (137, [*first, "restarting...", "Error: boom"])
    assert read_footer(first) == (1, first[:2])
    assert read_footer(["Claude Code exited with status 1."]) is None  # not the launcher's line


def test_last_lines_skips_blanks() -> None:
    assert last_lines(["a", "", "b  ", "c", ""], 2) == ["b", "c"]


def test_exit_reason_and_when_to_tell() -> None:
    early = ClaudeExit(status=1, elapsed_s=1, headline="Unable to connect to Anthropic services")
    assert early.early and early.worth_telling()
    assert early.summary() == "exited with status 1: Unable to connect to Anthropic services"
    assert ClaudeExit(137, 500, "").summary() == "was stopped by signal 9"
    # The user's own /exit, long after the start: the pane says it, no message to every client.
    assert not ClaudeExit(0, 500, "").worth_telling()
    assert ClaudeExit(0, 2, "").worth_telling()


@pytest.mark.parametrize("section", ["claude_env", "shell_env"])
def test_pane_env_names_must_be_identifiers(section: str) -> None:
    assert Config.from_dict({"commands": {section: {"HTTPS_PROXY": "http://p", "_x1": ""}}})
    for bad in ("A B", "1A", "A=B", "É"):
        with pytest.raises(ConfigError, match=f"commands\\.{section}"):
            Config.from_dict({"commands": {section: {bad: "v"}}})

"""The pure Claude CLI rules: versions, the tested range, and whose permission mode wins."""

from __future__ import annotations

import pytest

from tmuxclaude.errors import ConfigError
from tmuxclaude.model.claude import (
    ASK_MODE,
    ASK_MODE_LEGACY,
    ask_mode_for,
    choose_permission,
    parse_version,
    parse_versions_file,
)
from tmuxclaude.model.config import Config


def test_parse_version_reads_the_cli_output() -> None:
    assert parse_version("2.1.332 (Claude Code)") == (2, 1, 332)
    assert parse_version("claude 10.20.30\n") == (10, 20, 30)
    assert parse_version("no version here") is None
    assert parse_version("1.2") is None


def test_versions_file_is_ordered_and_strict() -> None:
    tested = parse_versions_file("# comment\n2.1.197\n\n2.1.332  # current\n")
    assert tested.oldest == (2, 1, 197) and tested.current == (2, 1, 332)
    assert tested.contains((2, 1, 200)) and not tested.contains((2, 1, 196)) and not tested.contains((2, 2, 0))
    assert tested.describe() == "2.1.197 to 2.1.332"
    for bad in ("", "# only\n", "2.1\n", "2.1.332\n2.1.197\n", "v2.1.197\n", "2.1.336 nopkg\n", "2.1.336 @a/b@1 x\n"):
        with pytest.raises(ValueError):
            parse_versions_file(bad)


def test_the_shipped_versions_file_lists_both_tested_clis() -> None:
    from tmuxclaude.adapters.claude_cli import supported_range

    tested = supported_range()
    assert tested.versions == ((2, 1, 197), (2, 1, 332), (2, 1, 336))
    packages = dict(zip(tested.versions, tested.packages, strict=False))
    assert packages.get((2, 1, 332), ("@anthropic-ai/claude-code", "2.1.332")) == (
        "@anthropic-ai/claude-code",
        "2.1.332",
    )
    assert packages[(2, 1, 336)] == ("@anthropic-ai/claude-agent-sdk-{platform}", "0.3.336")


def test_a_platform_binary_package_maps_to_its_claude_code_version() -> None:
    tested = parse_versions_file("2.1.332\n2.1.336 @anthropic-ai/claude-agent-sdk-{platform}@0.3.336\n")
    assert tested.version_of_package("@anthropic-ai/claude-agent-sdk-linux-x64", "0.3.336") == (2, 1, 336)
    assert tested.version_of_package("@anthropic-ai/claude-agent-sdk-darwin-arm64", "0.3.336") == (2, 1, 336)
    assert tested.version_of_package("@anthropic-ai/claude-code", "2.1.332") == (2, 1, 332)
    # An unlisted SDK version, or the SDK's own JS package, is not a Claude Code version we can name.
    assert tested.version_of_package("@anthropic-ai/claude-agent-sdk-linux-x64", "0.3.337") is None
    assert tested.version_of_package("@anthropic-ai/claude-agent-sdk-", "0.3.336") is None


def test_ask_mode_name_follows_the_version() -> None:
    assert ask_mode_for((2, 1, 332)) == ASK_MODE == "manual"
    assert ask_mode_for((3, 0, 0)) == ASK_MODE
    assert ask_mode_for((2, 1, 197)) == ASK_MODE_LEGACY == "default"
    # Unknown: the old name, which every tested version accepts.
    assert ask_mode_for(None) == ASK_MODE_LEGACY


def test_no_choice_means_ask_before_edits() -> None:
    choice = choose_permission(["claude"], "", [], (2, 1, 332))
    assert choice.args == ("--permission-mode", "manual")
    assert choose_permission(["claude"], "", [], (2, 1, 197)).args == ("--permission-mode", "default")


@pytest.mark.parametrize(
    "command",
    [
        ["claude", "--permission-mode", "auto"],
        ["claude", "--permission-mode=acceptEdits"],
        ["claude", "--dangerously-skip-permissions"],
    ],
)
def test_a_mode_in_the_command_wins_and_nothing_is_added(command: list[str]) -> None:
    choice = choose_permission(command, "manual", [("/u/settings.json", "default")], (2, 1, 332))
    assert choice.args == () and "[commands] claude" in choice.reason


def test_the_config_key_is_passed_through_and_beats_settings() -> None:
    choice = choose_permission(["claude"], "auto", [("/u/settings.json", "default")], (2, 1, 332))
    assert choice.args == ("--permission-mode", "auto")


def test_a_settings_default_mode_means_the_cli_decides() -> None:
    choice = choose_permission(["claude"], "", [("/w/.claude/settings.local.json", "acceptEdits")], None)
    assert choice.args == () and "settings.local.json" in choice.reason and "acceptEdits" in choice.reason


def test_config_key_validation() -> None:
    assert Config.from_dict({"claude": {"permission_mode": "bypassPermissions"}}).claude.permission_mode
    for bad in ("--auto", "auto mode", "x" * 40, "#(rm)"):
        with pytest.raises(ConfigError, match=r"claude\.permission_mode"):
            Config.from_dict({"claude": {"permission_mode": bad}})
    with pytest.raises(ConfigError, match=r"claude\.permision_mode"):
        Config.from_dict({"claude": {"permision_mode": "auto"}})


def test_a_projects_mode_never_turns_review_off() -> None:
    """Issue 17 finding 5: the repository's committed settings choose `auto`; your own (or managed) decide."""
    project = ("/w/.claude/settings.json", "auto")
    projects, managed_files = (
        ["/w/.claude/settings.local.json", "/w/.claude/settings.json"],
        ["/etc/claude-code/managed-settings.json"],
    )
    choice = choose_permission(
        ["claude"], "", [project], (2, 1, 332), project_files=projects, managed_files=managed_files
    )
    assert choice.args == ("--permission-mode", "manual") and choice.chosen_by == "tmuxclaude"
    assert "/w/.claude/settings.json" in choice.reason
    user = ("/u/settings.json", "acceptEdits")
    choice = choose_permission(
        ["claude"], "", [project, user], (2, 1, 332), project_files=projects, managed_files=managed_files
    )
    assert choice.args == ("--permission-mode", "acceptEdits") and choice.chosen_by == "user"
    odd = ("/u/settings.json", "--dangerously-skip-permissions")
    choice = choose_permission(
        ["claude"], "", [project, odd], (2, 1, 332), project_files=projects, managed_files=managed_files
    )
    assert choice.args == ("--permission-mode", "manual")
    managed = ("/etc/claude-code/managed-settings.json", "auto")
    choice = choose_permission(
        ["claude"], "", [managed, project], (2, 1, 332), project_files=projects, managed_files=managed_files
    )
    assert choice.args == () and choice.chosen_by == "managed"

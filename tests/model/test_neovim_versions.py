"""The tested-Neovims file and where a Neovim version stands against it."""

from __future__ import annotations

import pytest

from tmuxclaude.adapters import neovim_check
from tmuxclaude.model.neovim import parse_neovim_versions, parse_nvim_version


def test_the_shipped_file_lists_oldest_first_with_one_default() -> None:
    tested = neovim_check.tested_neovims()
    assert tested.versions == ["0.7.2", "0.11.4", "0.12.0-dev"]
    assert tested.default == "0.11.4"
    assert tested.describe() == "0.7.2 to 0.12.0-dev"


@pytest.mark.parametrize(
    ("text", "inside"),
    [("NVIM v0.7.2", True), ("NVIM v0.6.1", False), ("NVIM v0.10.4", True), ("NVIM v0.12.0-dev-1386+gfbb1caf", True),
     ("NVIM v0.12.6", True), ("NVIM v0.13.0-dev", False), ("NVIM v1.0.0", False)],
)  # fmt: skip
def test_range(text: str, inside: bool) -> None:
    version = parse_nvim_version(text)
    assert version is not None and neovim_check.tested_neovims().contains(version) is inside


def test_a_dev_build_sorts_before_its_release() -> None:
    dev, rel = parse_nvim_version("0.12.0-dev"), parse_nvim_version("0.12.0")
    assert dev == (0, 12, 0, True) and rel == (0, 12, 0, False)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "no Neovim listed"),
        ("0.11.4 pypi:x\n0.7.2 apt:neovim default\n", "oldest first"),
        ("0.7.2 apt:neovim\n", "exactly one Neovim must be marked"),
        ("0.7.2 apt:neovim default\n0.11.4 pypi:x default\n", "exactly one Neovim must be marked"),
        ("v0.7 apt:neovim default\n", "line 1"),
        ("0.7.2 apt:neovim current\n", "can only be 'default'"),
    ],
)
def test_a_bad_file_is_refused_with_a_reason(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_neovim_versions(text)

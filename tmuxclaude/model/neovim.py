"""The tested Neovims (the one file ``tmuxclaude/neovim-versions``) and where a user's Neovim stands. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: (major, minor, patch, is_dev): a development build (``0.12.0-dev-1234+g...``) sorts before its release.
NvimVersion = tuple[int, int, int, bool]

_NVIM_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(-dev)?")


def parse_nvim_version(text: str) -> NvimVersion | None:
    """The version in ``nvim --version``'s first line (``NVIM v0.11.4``, ``NVIM v0.12.0-dev-1386+g...``) or in
    a versions-file entry (``0.12.0-dev``), or None."""
    match = _NVIM_RE.search(text or "")
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3)), match.group(4) is not None


def format_nvim_version(version: NvimVersion) -> str:
    return f"{version[0]}.{version[1]}.{version[2]}" + ("-dev" if version[3] else "")


def _order(version: NvimVersion) -> tuple[int, int, int, int]:
    return version[0], version[1], version[2], 0 if version[3] else 1


@dataclass(frozen=True)
class TestedNeovim:
    """One line of the versions file: ``VERSION SOURCE [default]``."""

    version: str
    source: str
    default: bool = False


@dataclass(frozen=True)
class NeovimRange:
    """The tested Neovims, oldest first."""

    neovims: tuple[TestedNeovim, ...]

    @property
    def versions(self) -> list[str]:
        return [n.version for n in self.neovims]

    @property
    def default(self) -> str:
        return next(n.version for n in self.neovims if n.default)

    def contains(self, version: NvimVersion) -> bool:
        oldest = parse_nvim_version(self.neovims[0].version)
        newest = parse_nvim_version(self.neovims[-1].version)
        assert oldest is not None and newest is not None  # checked when parsed
        # Any build of the newest listed line counts (0.12.x when 0.12.0-dev is listed): same minor, newer patch.
        top = (newest[0], newest[1], 10**6, False)
        return _order(oldest) <= _order(version) <= _order(top)

    def describe(self) -> str:
        return f"{self.neovims[0].version} to {self.neovims[-1].version}"


def parse_neovim_versions(text: str) -> NeovimRange:
    """``VERSION SOURCE [default]`` a line, ``#`` comments, oldest first, exactly one default; raises ValueError."""
    found: list[TestedNeovim] = []
    for number, raw in enumerate(text.splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        version = parse_nvim_version(words[0])
        if version is None or format_nvim_version(version) != words[0] or len(words) not in (2, 3):
            raise ValueError(f"line {number}: expected 'VERSION SOURCE [default]', got {raw.strip()!r}")
        if len(words) == 3 and words[2] != "default":
            raise ValueError(f"line {number}: the third word can only be 'default', not {words[2]!r}")
        found.append(TestedNeovim(words[0], words[1], len(words) == 3))
    if not found:
        raise ValueError("no Neovim listed")
    orders = [_order(v) for v in (parse_nvim_version(n.version) for n in found) if v is not None]
    if orders != sorted(orders):
        raise ValueError("Neovims must be listed oldest first")
    if sum(n.default for n in found) != 1:
        raise ValueError("exactly one Neovim must be marked 'default'")
    return NeovimRange(tuple(found))

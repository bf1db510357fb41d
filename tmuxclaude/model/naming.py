"""Instance names: worktree | branch | custom (format string or ``module:function``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tmuxclaude.errors import ConfigError
from tmuxclaude.model.config import NamingConfig

__all__ = ["NameParts", "clean_name", "instance_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._/+-]+")


@dataclass(frozen=True)
class NameParts:
    repo: str
    branch: str
    worktree: str
    n: int


def clean_name(raw: str) -> str:
    """tmux window names and CLI references must survive shells and format strings: keep them plain."""
    name = _UNSAFE.sub("-", raw.strip()).strip("-")
    return name[:60] or "instance"


def instance_name(
    config: NamingConfig,
    parts: NameParts,
    resolve: Callable[[str], Callable[..., object]] | None = None,
) -> str:
    """Name an instance. ``resolve`` turns ``module:function`` into a callable (an adapter does the import)."""
    if config.format == "worktree":
        return clean_name(parts.worktree)
    if config.format == "branch":
        return clean_name(parts.branch or parts.worktree)
    spec = config.custom_formatter
    if "{" not in spec and re.fullmatch(r"[\w.]+:\w+", spec):
        if resolve is None:
            raise ConfigError(f"instance_naming.custom_formatter {spec!r} needs a resolver")
        func = resolve(spec)
        result = func(repo=parts.repo, branch=parts.branch, worktree=parts.worktree, n=parts.n)
        if not isinstance(result, str):
            raise ConfigError(f"instance_naming.custom_formatter {spec!r} returned {type(result).__name__}")
        return clean_name(result)
    try:
        return clean_name(spec.format(repo=parts.repo, branch=parts.branch, worktree=parts.worktree, n=parts.n))
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"instance_naming.custom_formatter {spec!r}: {exc}") from exc

"""Instance names: worktree | branch | custom (format string or ``module:function``), kept unique and readable.

A name is what users type (``switch NAME``) and what tmux shows (the window name), so it is plain: letters of any
script, digits and ``. _ + - /``; nothing a shell or a tmux format treats specially (no ``#``, quotes, spaces,
``$``, ``;``, braces).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass

from tmuxclaude.errors import ConfigError
from tmuxclaude.model.config import NamingConfig

__all__ = ["NameParts", "clean_name", "instance_name", "is_callable_spec", "unique_name"]

# \w is Unicode-aware on str patterns: ß, é, ж, 漢 are letters and stay.
_UNSAFE = re.compile(r"[^\w.+/-]+")
_CALLABLE_SPEC = re.compile(r"[\w.]+:\w+")
_MAX_LEN = 60


@dataclass(frozen=True)
class NameParts:
    repo: str
    branch: str
    worktree: str
    n: int


def clean_name(raw: str) -> str:
    """tmux window names and CLI references must survive shells and format strings: keep them plain."""
    text = unicodedata.normalize("NFC", raw.strip())  # a decomposed é is one letter, not e + a stray mark
    name = _UNSAFE.sub("-", text).strip("-/")
    name = re.sub(r"/{2,}", "/", name)
    return name[:_MAX_LEN].rstrip("-/") or "instance"


def is_callable_spec(spec: str) -> bool:
    """``module:function`` rather than a format string (which has braces)."""
    return "{" not in spec and _CALLABLE_SPEC.fullmatch(spec) is not None


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
    key = "config key 'instance_naming.custom_formatter'"
    if is_callable_spec(spec):
        if resolve is None:
            raise ConfigError(f"{key}: {spec!r} needs a resolver")
        func = resolve(spec)
        try:
            result = func(repo=parts.repo, branch=parts.branch, worktree=parts.worktree, n=parts.n)
        except Exception as exc:  # the user's function failing is a config problem, reported as one
            raise ConfigError(f"{key}: {spec} raised {type(exc).__name__}: {exc}") from None
        if not isinstance(result, str):
            raise ConfigError(f"{key}: {spec} returned {type(result).__name__}, not a string")
        return clean_name(result)
    try:
        return clean_name(spec.format(repo=parts.repo, branch=parts.branch, worktree=parts.worktree, n=parts.n))
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{key}: {spec!r}: {exc}") from None


def unique_name(wanted: str, taken: Collection[str], *, repo: str = "") -> str:
    """``wanted``, or when another instance has that name: ``repo/wanted`` (two repos on ``main`` read as ``main``
    and ``shop/main``), then ``-2``, ``-3``... for what is still taken."""
    if wanted not in taken:
        return wanted
    qualifier = clean_name(repo) if repo else ""
    if qualifier and qualifier != "instance" and not wanted.startswith(f"{qualifier}/"):
        qualified = clean_name(f"{qualifier}/{wanted}")
        if qualified not in taken:
            return qualified
        wanted = qualified
    n = 2
    while f"{wanted}-{n}" in taken:
        n += 1
    return f"{wanted}-{n}"

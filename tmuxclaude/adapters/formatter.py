"""``[instance_naming] custom_formatter = "module:function"``: importing the user's naming function."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from tmuxclaude.errors import ConfigError

__all__ = ["resolve_formatter"]

_KEY = "instance_naming.custom_formatter"


def resolve_formatter(spec: str) -> Callable[..., object]:
    """Import ``module:function``; any failure is a ConfigError naming the key (exit 3), never an internal error."""
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or whatever the module raises while it loads
        raise ConfigError(f"config key {_KEY!r}: cannot import {module_name!r} ({type(exc).__name__}: {exc})") from None
    func = getattr(module, attr, None)
    if func is None:
        raise ConfigError(f"config key {_KEY!r}: module {module_name!r} has no {attr!r}")
    if not callable(func):
        raise ConfigError(f"config key {_KEY!r}: {spec} is not callable")
    return func  # type: ignore[no-any-return]

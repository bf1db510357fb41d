"""Reading config.toml (stdlib tomllib) into the pure ``Config``."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tmuxclaude.adapters.paths import config_path
from tmuxclaude.errors import ConfigError
from tmuxclaude.model.config import Config

__all__ = ["config_mtime", "load_config"]


def config_mtime(path: Path | None = None) -> float:
    try:
        return (path or config_path()).stat().st_mtime
    except OSError:
        return 0.0


def load_config(path: Path | None = None) -> Config:
    path = path or config_path()
    if not path.exists():
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {_toml_message(exc)}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    try:
        config = Config.from_dict(data)
        _check_formatter(config)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return config


def _toml_message(exc: tomllib.TOMLDecodeError) -> str:
    """``line 3, column 7: invalid value`` (tomllib puts the position last, in parentheses)."""
    text = str(exc)
    match = re.fullmatch(r"(?s)(?P<msg>.*?) \(at (?P<where>line \d+, column \d+|end of document)\)", text)
    if match is None:
        return f"TOML syntax error: {text}"
    return f"{match['where']}: TOML syntax error: {match['msg'][:1].lower()}{match['msg'][1:]}"


def _check_formatter(config: Config) -> None:
    """A ``module:function`` formatter is imported now, so a typo is reported as the config key it is, by the
    command that loads the config (not later, as a failed start)."""
    from tmuxclaude.adapters.formatter import resolve_formatter
    from tmuxclaude.model.naming import is_callable_spec

    naming = config.instance_naming
    if naming.format == "custom" and is_callable_spec(naming.custom_formatter):
        resolve_formatter(naming.custom_formatter)

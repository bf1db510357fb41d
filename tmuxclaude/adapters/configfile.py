"""Reading config.toml (stdlib tomllib) into the pure ``Config``."""

from __future__ import annotations

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
        raise ConfigError(f"{path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    try:
        return Config.from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None

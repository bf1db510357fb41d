"""The pane launchers (``adapters/launcher.py``) and the Neovim instance preparation (``adapters/nvim_instance.py``)
as the controller's ``LauncherPort``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from tmuxclaude.adapters import launcher, nvim_instance

__all__ = ["PaneLauncher"]


class PaneLauncher:
    @property
    def nvim_instance_args(self) -> Sequence[str]:
        return nvim_instance.NVIM_INSTANCE_ARGS

    def nvim_instance_env(self) -> dict[str, str]:
        return nvim_instance.nvim_instance_env()

    def env_file(self, runtime_dir: Path, instance_id: str, pane: str) -> Path:
        return launcher.env_file(runtime_dir, instance_id, pane)

    def write_env_file(self, path: Path, env: Mapping[str, str]) -> None:
        launcher.write_env_file(path, env)

    def remove_env_files(self, runtime_dir: Path, instance_id: str) -> None:
        launcher.remove_env_files(runtime_dir, instance_id)

    def nvim_pane_command(self, env_path: Path, command: Sequence[str]) -> list[str]:
        return launcher.nvim_pane_command(env_path, command)

    def claude_pane_command(
        self, env_path: Path, *, port: int, token_file: Path, name: str, command: Sequence[str]
    ) -> list[str]:
        return launcher.claude_pane_command(env_path, port=port, token_file=token_file, name=name, command=command)

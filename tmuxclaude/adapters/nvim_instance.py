"""How an instance's Neovim is prepared before the user's config runs (tmuxclaude/nvim/instance.lua).

The argv is constant (no path in it, nothing to quote); the file it runs is named by a variable of the pane's
environment, which the launcher exports from a private file."""

from __future__ import annotations

from typing import Final

from tmuxclaude.adapters.nvim import runtime_dir

ENV_VAR: Final = "TMUXCLAUDE_NVIM_INIT"

#: Before the user's config: run instance.lua when the pane's environment names it (a Neovim started by hand
#: with the same arguments does nothing).
NVIM_INSTANCE_ARGS: Final = (
    "--cmd",
    f"lua local f = os.getenv('{ENV_VAR}') if f and f ~= '' then pcall(dofile, f) end",
)


def nvim_instance_env() -> dict[str, str]:
    return {ENV_VAR: str(runtime_dir() / "instance.lua")}

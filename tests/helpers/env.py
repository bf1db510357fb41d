"""An isolated world for one test: HOME, XDG dirs, CLAUDE_CONFIG_DIR, a private tmux server, config, repos."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.waiting import retry_until

RECORDER = Path(__file__).with_name("recorder.py")


def free_port_base(span: int = 10) -> int:
    """A random base port whose first ``span`` ports are free right now.

    Drawn below the kernel's ephemeral range: every outgoing connection on the machine (the Claude CLI's, a
    websocket client's, another test's) takes a port from that range, and could take one the test expects the
    controller to give out.
    """
    import random
    import socket

    low = 32768
    with contextlib.suppress(OSError, ValueError):
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text(encoding="utf-8").split()[0])
    top = max(low, 12000) - 200  # the world's config gives the controller base .. base + 199
    for _ in range(200):
        base = random.randrange(10000, top, 200)
        socks = []
        try:
            for port in range(base, base + span):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


def new_attached(env: Env, repo: Path, *branches: str) -> list[dict[str, Any]]:
    """``tmuxclaude new -d`` each branch, then ``ls --json`` once every instance's Neovim is attached."""
    for branch in branches:
        env.cli("new", "-d", branch, cwd=repo)

    def attached() -> list[dict[str, Any]] | None:
        items = ls_json(env)
        return items if len(items) >= len(branches) and all(i["nvim_attached"] for i in items) else None

    return retry_until(attached, 20, "every Neovim attached")


def fake_command(env: Env, key: str, body: str) -> Path:
    """A shell script standing in for ``[commands] KEY`` (claude, nvim): the config names it, the test reads what
    tmuxclaude makes of its answer."""
    path = env.short / f"fake-{key}"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    env.write_config(f"[commands]\n{key} = {json.dumps([str(path)])}\n")
    return path


def ls_json(env: Env) -> list[dict[str, Any]]:
    """``tmuxclaude ls --json``, parsed."""
    return json.loads(env.cli("ls", "--json").stdout)  # type: ignore[no-any-return]


@dataclass
class Env:
    root: Path
    short: Path
    vars: dict[str, str] = field(default_factory=dict)
    port_base: int = field(default_factory=free_port_base)

    @property
    def home(self) -> Path:
        return Path(self.vars["HOME"])

    @property
    def socket(self) -> str:
        return self.vars["TMUXCLAUDE_TMUX_SOCKET"]

    @property
    def lock_dir(self) -> Path:
        return Path(self.vars["CLAUDE_CONFIG_DIR"]) / "ide"

    @property
    def records(self) -> Path:
        return self.short / "records"

    def tmux(self, *args: str, check: bool = True) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        out = subprocess.run(
            ["tmux", "-S", self.socket, *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=20,
        )
        if check and out.returncode != 0:
            raise AssertionError(f"tmux {args}: {out.stderr}")
        return out.stdout.strip()

    def start_tmux(self) -> None:
        """A private server with no user config and one plain session the test can act from."""
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", "200", "-y", "50")

    def write_config(self, text: str) -> Path:
        """Write config.toml; a private port range is added so parallel runs never expect the same ports."""
        path = Path(self.vars["XDG_CONFIG_HOME"]) / "tmuxclaude" / "config.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        if "[ports]" not in text:
            text += f"\n[ports]\nmin = {self.port_base}\nmax = {self.port_base + 199}\n"
        path.write_text(text)
        return path

    def use_recorder(self, extra: str = "", nvim: str | None = None) -> None:
        """Claude is replaced by a recorder that writes its env/argv/cwd to a file and then waits."""
        self.records.mkdir(exist_ok=True)
        claude = json.dumps([sys.executable, str(RECORDER), str(self.records)])
        nvim_cmd = nvim if nvim is not None else json.dumps(["nvim", "--clean", "--headless"])
        self.write_config(f"[commands]\nclaude = {claude}\nnvim = {nvim_cmd}\n{extra}")

    def record(self, instance_id: str, timeout: float = 10.0) -> dict[str, Any]:
        path = self.records / f"{instance_id}.json"
        retry_until(path.exists, timeout, f"recorder output for {instance_id}")
        return json.loads(path.read_text())  # type: ignore[no-any-return]

    def make_repo(self, name: str) -> Path:
        repo = self.home / "projects" / name
        repo.mkdir(parents=True)

        def run(*args: str) -> None:
            subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

        run("init", "-q", "-b", "main")
        (repo / "README.md").write_text("hello\n")
        run("add", ".")
        run("commit", "-q", "-m", "init")
        return repo

    def cli(
        self, *args: str, cwd: Path | None = None, check: bool = True, timeout: float = 60, pane: str = ""
    ) -> subprocess.CompletedProcess[str]:
        """Run the installed console script, as a user (or a keybinding) would; ``pane`` runs it "inside" that
        tmux pane (TMUX and TMUX_PANE set the way tmux sets them for a pane's processes)."""
        env = dict(os.environ)
        if pane:
            pid = self.tmux("display-message", "-p", "#{pid}")
            env.update(TMUX=f"{self.socket},{pid},0", TMUX_PANE=pane)
        out = subprocess.run(
            ["tmuxclaude", *args],
            cwd=cwd or self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=env,
        )
        if check and out.returncode != 0:
            raise AssertionError(f"tmuxclaude {' '.join(args)} exited {out.returncode}: {out.stderr}{out.stdout}")
        return out

    def shutdown(self) -> None:
        # Stop the controller (if any) and the private tmux server; never anything else.
        subprocess.run(["tmuxclaude", "daemon", "stop"], capture_output=True, timeout=30, check=False)
        self.tmux("kill-server", check=False)


def make_env(root: Path, short: Path) -> Env:
    home = root / "home"
    home.mkdir()
    vars_ = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_RUNTIME_DIR": str(short / "run"),
        "TMUX_TMPDIR": str(short),
        "TMUXCLAUDE_TMUX_SOCKET": str(short / "tmux.sock"),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
    }  # fmt: skip
    (short / "run").mkdir(mode=0o700)
    return Env(root=root, short=short, vars=vars_)

"""Can Claude Code start here? What ``tmuxclaude doctor`` asks the CLI and the machine, sending nothing to the service.

Three questions, each bounded in time:

* login: ``claude auth status --json`` (the CLI's own answer from its local credentials, API key, apiKeyHelper,
  Bedrock/Vertex settings; it makes no request to the service), run with the environment an instance pane gets;
* first-run setup: without ``hasCompletedOnboarding`` in its global config the CLI runs its onboarding, which needs
  the service, and offline stops at "Unable to connect to Anthropic services";
* reachability: the name of the endpoint the CLI would talk to (``ANTHROPIC_BASE_URL`` or api.anthropic.com) must
  resolve (the CLI's ENOTFOUND); with an HTTPS proxy in front of it, the proxy must accept a TCP connection (closed
  at once, nothing sent). Only the resolver and the proxy are asked, never the service.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tmuxclaude.adapters.paths import claude_config_dir
from tmuxclaude.protocol.boundedjson import loads_bounded

__all__ = ["Finding", "claude_start_checks"]

QUIET = {
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_AUTOUPDATER": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
}
"""Set for the probe only: no telemetry, error reports or update checks while asking about the login."""

DEFAULT_API = "https://api.anthropic.com"
_MAX_JSON = 16 << 20
"""Claude's global config grows with its project history; bounded all the same."""


@dataclass(frozen=True)
class Finding:
    ok: bool
    label: str
    detail: str


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = loads_bounded(f.read(_MAX_JSON + 1), max_bytes=_MAX_JSON)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _global_config(env: Mapping[str, str]) -> Path:
    """The CLI's global config: ``$CLAUDE_CONFIG_DIR/.claude.json``, else ``~/.claude.json``."""
    if env.get("CLAUDE_CONFIG_DIR"):
        return Path(env["CLAUDE_CONFIG_DIR"]) / ".claude.json"
    return Path(env.get("HOME") or Path.home()) / ".claude.json"


def _neutral_dir(env: Mapping[str, str]) -> str:
    """Where the probe runs: your home (its ``.claude`` is your own user settings), never the caller's cwd, whose
    repository's project settings (an apiKeyHelper, env, a provider) would change the answer, or run."""
    home = env.get("HOME") or str(Path.home())
    return home if os.path.isdir(home) else "/"


def _auth_status(command: Sequence[str], env: Mapping[str, str], timeout: float) -> dict[str, Any] | str:
    """The CLI's ``auth status --json`` answer, or why there is none."""
    try:
        out = subprocess.run(
            [*command, "auth", "status", "--json"],
            capture_output=True, text=True, timeout=timeout, check=False, env={**env, **QUIET},
            stdin=subprocess.DEVNULL, cwd=_neutral_dir(env),
        )  # fmt: skip
    except FileNotFoundError:
        return f"{command[0]} not found"
    except subprocess.TimeoutExpired:
        return f"`{command[0]} auth status` did not answer within {timeout:.0f}s"
    except OSError as exc:
        return str(exc)
    try:
        data = json.loads(out.stdout)
    except ValueError:
        first = (out.stderr or out.stdout).strip().splitlines()
        return f"`{command[0]} auth status` said: {first[0] if first else f'exit {out.returncode}'}"
    return data if isinstance(data, dict) else "unexpected `auth status` answer"


def _login(status: dict[str, Any] | str) -> Finding:
    if isinstance(status, str):
        return Finding(False, "claude login", status)
    provider = str(status.get("apiProvider") or "firstParty")
    method = str(status.get("authMethod") or "none")
    if status.get("loggedIn"):
        source = status.get("apiKeySource")
        how = f"{method} ({source})" if source else method
        return Finding(True, "claude login", f"{how}, provider {provider}")
    return Finding(
        False,
        "claude login",
        "not logged in: run `claude` in a terminal and log in, or set ANTHROPIC_API_KEY or an apiKeyHelper "
        "(in Claude's settings or [commands] claude_env)",
    )


def _onboarding(env: Mapping[str, str]) -> Finding:
    path = _global_config(env)
    if _read_json(path).get("hasCompletedOnboarding"):
        return Finding(True, "claude first-run setup", f"done ({path})")
    return Finding(
        False,
        "claude first-run setup",
        f"not done ({path}): Claude Code runs its onboarding on the first start, which needs its service; "
        "run `claude` once in a terminal",
    )


def _resolves(host: str, timeout: float) -> bool | None:
    """True/False when the resolver answered within ``timeout``, None when it did not."""
    answer: list[bool] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
            answer.append(True)
        except OSError:
            answer.append(False)

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(timeout)
    return answer[0] if answer else None


def _proxy(env: Mapping[str, str], host: str) -> tuple[str, int] | None:
    """The HTTPS proxy the CLI would go through to ``host`` (loopback is excluded, as tmuxclaude's no_proxy does)."""
    proxy = env.get("HTTPS_PROXY") or env.get("https_proxy") or ""
    if not proxy or host in ("127.0.0.1", "localhost", "::1"):
        return None
    split = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    try:
        port = split.port or (443 if split.scheme == "https" else 80)
    except ValueError:
        port = 0
    return (split.hostname or "", port)


def _accepts(host: str, port: int, timeout: float) -> str:
    """ "" when ``host:port`` accepts a TCP connection (closed at once, nothing sent), else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return ""
    except OSError as exc:
        return exc.strerror or str(exc)


def _reachability(env: Mapping[str, str], provider: str, timeout: float) -> Finding:
    if provider not in ("firstParty", ""):
        return Finding(True, "claude service", f"provider {provider}: its endpoint is not checked")
    host = urlsplit(env.get("ANTHROPIC_BASE_URL") or DEFAULT_API).hostname or ""
    if not host:
        return Finding(False, "claude service", f"cannot tell the host of {env.get('ANTHROPIC_BASE_URL')!r}")
    proxy = _proxy(env, host)
    if proxy is not None:
        refused = _accepts(*proxy, timeout) if proxy[0] and proxy[1] else "not a host:port"
        where = f"the HTTPS proxy {proxy[0]}:{proxy[1]} (for {host})"
        if refused:
            return Finding(False, "claude service", f"{where}: {refused}; Claude Code would stop at its start")
        return Finding(True, "claude service", f"{where} accepts connections (nothing was sent)")
    what = host
    resolved = _resolves(host, timeout)
    if resolved:
        return Finding(True, "claude service", f"{what} resolves (nothing was sent to it)")
    why = "did not answer in time" if resolved is None else "cannot resolve it"
    return Finding(
        False,
        "claude service",
        f'{what}: the resolver {why}, so Claude Code would stop at "Unable to connect to Anthropic services" '
        "(offline? a proxy needed? set HTTPS_PROXY in [commands] claude_env)",
    )


def claude_start_checks(command: Sequence[str], pane_env: Mapping[str, str], *, timeout: float = 10.0) -> list[Finding]:
    """Login, first-run setup and reachability, with ``pane_env`` (config additions) over this environment."""
    env = {**os.environ, **pane_env}
    settings_env = _read_json(claude_config_dir(env) / "settings.json").get("env")
    # Claude's own settings may set the endpoint or proxy: the CLI applies their "env" over its environment.
    endpoint_env = dict(env)
    if isinstance(settings_env, dict):
        endpoint_env.update({str(k): str(v) for k, v in settings_env.items()})
    status = _auth_status(command, env, timeout)
    provider = status.get("apiProvider", "firstParty") if isinstance(status, dict) else "firstParty"
    return [_login(status), _onboarding(env), _reachability(endpoint_env, str(provider), min(timeout, 3.0))]

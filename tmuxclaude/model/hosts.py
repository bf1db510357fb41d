"""Other hosts, pure: the ``[hosts.NAME]`` config, ``HOST:NAME`` references, and how a host's instances read in
the one list (numbered on after the local ones).

Everything a host says is untrusted: it reaches this module already decoded and bounded by
``protocol.watch``; lines drawn from it go through ``view.printable`` like local ones.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from tmuxclaude.errors import ConfigError
from tmuxclaude.model.view import printable

__all__ = [
    "HostConfig",
    "HostRef",
    "last_line",
    "parse_hosts",
    "remote_argv",
    "remote_ls_line",
    "split_ref",
    "valid_branch",
]

_HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
_OPTION = re.compile(r"[A-Za-z][A-Za-z0-9]*=[^\x00-\x1f]*")
"""One ``-o`` value: ``Key=Value`` (ssh_config keyword, then its value)."""

FORBIDDEN_OPTIONS = frozenset(
    k.lower()
    for k in (
        "StrictHostKeyChecking",  # host key checking is the user's ssh config's business, never turned off here
        "ControlPath",  # ours: one shared connection per host under the private runtime dir
        "ControlMaster",
        "ControlPersist",
        "BatchMode",
        "LocalCommand",  # would run a local shell command
        "PermitLocalCommand",
        "ProxyCommand",  # a local shell command too: put it in ~/.ssh/config if it is wanted
        "KnownHostsCommand",
        "Match",  # `Match exec` runs a command; Include and Host would pull in or start other config
        "Include",
        "Host",
    )
)


@dataclass(frozen=True)
class HostConfig:
    """One ``[hosts.NAME]`` table."""

    name: str
    ssh: str
    """Any destination ssh accepts: ``user@host``, ``ssh://user@host:port`` or a ~/.ssh/config alias."""
    ssh_options: tuple[str, ...] = ()
    """Extra ``Key=Value`` options, each given to ssh as ``-o Key=Value``."""
    tmuxclaude: str = "tmuxclaude"
    """The tmuxclaude command on that host (a name on its PATH or a path; a leading ``~/`` is its home)."""
    repo: str = ""
    """The repository ``new --host`` uses there when no ``--repo`` is given."""
    connect_timeout: float = 5.0
    """Seconds a connection attempt may take; no local command waits longer for an unreachable host."""


_KEYS = {"ssh", "ssh_options", "tmuxclaude", "repo", "connect_timeout"}


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"config key {key!r}: expected a string, got {value!r}")
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        raise ConfigError(f"config key {key!r}: control characters are not allowed")
    return value


def _host(name: str, table: Any) -> HostConfig:
    prefix = f"hosts.{name}"
    if not _HOST_NAME.fullmatch(name):
        raise ConfigError(f"config key {prefix!r}: a host name is 1-32 letters, digits, '-' or '_'")
    if not isinstance(table, dict):
        raise ConfigError(f"config key {prefix!r}: expected a table")
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(f"unknown config key '{prefix}.{sorted(unknown)[0]}' (known: {', '.join(sorted(_KEYS))})")
    if "ssh" not in table:
        raise ConfigError(f"config key '{prefix}.ssh': required (the ssh destination, e.g. \"user@box\")")
    dest = _text(f"{prefix}.ssh", table["ssh"]).strip()
    if not dest or dest.startswith("-") or any(c.isspace() for c in dest):
        raise ConfigError(f"config key '{prefix}.ssh': expected one ssh destination, got {dest!r}")
    options = table.get("ssh_options", [])
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise ConfigError(f"config key '{prefix}.ssh_options': expected a list of \"Key=Value\" strings")
    checked: list[str] = []
    for option in options:
        # "-o Key=Value" and "Key=Value" are both accepted; anything else (a flag, a value that would start a
        # new option, a command) is refused.
        text = option[3:] if option.startswith("-o ") else option
        if not _OPTION.fullmatch(text):
            raise ConfigError(f"config key '{prefix}.ssh_options': {option!r} is not a Key=Value ssh option")
        key = text.split("=", 1)[0]
        if key.lower() in FORBIDDEN_OPTIONS:
            raise ConfigError(f"config key '{prefix}.ssh_options': {key} is set by tmuxclaude or left to ~/.ssh/config")
        checked.append(text)
    command = _text(f"{prefix}.tmuxclaude", table.get("tmuxclaude", "tmuxclaude")).strip()
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(f"config key '{prefix}.tmuxclaude': {exc}") from None
    if not words:
        raise ConfigError(f"config key '{prefix}.tmuxclaude': must not be empty")
    repo = _text(f"{prefix}.repo", table.get("repo", ""))
    timeout = table.get("connect_timeout", 5.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 1 <= timeout <= 300:
        raise ConfigError(f"config key '{prefix}.connect_timeout': expected seconds between 1 and 300")
    return HostConfig(name, dest, tuple(checked), command, repo, float(timeout))


def parse_hosts(data: Any) -> dict[str, HostConfig]:
    """The ``[hosts]`` section (a table of tables), validated; ConfigError names the exact key."""
    if not isinstance(data, dict):
        raise ConfigError("config key 'hosts': expected a table of [hosts.NAME] tables")
    return {name: _host(name, table) for name, table in data.items()}


@dataclass(frozen=True)
class HostRef:
    host: str
    name: str


def split_ref(ref: str, hosts: dict[str, HostConfig] | Any) -> HostRef | None:
    """``HOST:NAME`` when HOST is a configured host (a local name never holds ':' before a host's name)."""
    host, sep, name = ref.partition(":")
    if sep and name and host in hosts:
        return HostRef(host, name)
    return None


_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.|\.lock(/|$)")


def valid_branch(branch: str) -> bool:
    """A branch name git would accept (check-ref-format's rules), checked here before it goes to another host;
    that host's tmuxclaude checks it again."""
    return bool(
        branch
        and not branch.startswith(("-", "/", "."))
        and not branch.endswith(("/", ".", ".lock"))
        and branch != "@"
        and not _BAD_REF.search(branch)
        and len(branch) <= 200
    )


def _quote_command(command: str) -> list[str]:
    """The host's tmuxclaude command as remote shell words: each quoted, except that a leading ``~/`` stays
    unquoted so the remote shell expands it to that user's home."""
    words = shlex.split(command)
    first = words[0]
    head = "~/" + shlex.quote(first[2:]) if first.startswith("~/") and len(first) > 2 else shlex.quote(first)
    return [head, *map(shlex.quote, words[1:])]


def remote_argv(host: HostConfig, args: list[str], *, cwd: str = "") -> str:
    """The remote shell command line that runs the host's tmuxclaude with ``args``: ssh joins its argv into one
    string the remote shell parses, so every word is quoted here (the one place quoting is mandatory).
    With ``cwd``, it runs there (``cd -- DIR &&``)."""
    line = " ".join([*_quote_command(host.tmuxclaude), *map(shlex.quote, args)])
    if cwd:
        line = f"cd -- {shlex.quote(cwd)} && {line}"
    return line


def shorten(path: str, home: str) -> str:
    home = home.rstrip("/")
    if home and (path == home or path.startswith(home + "/")):
        return "~" + path[len(home) :]
    return path


def remote_ls_line(item: dict[str, Any]) -> str:
    """``3. [box:feat-x] ~/src/shop-feat-x (port: 10003)``, ``(unreachable: REASON; last seen waiting)`` when
    the host cannot be reached now. Not yet made printable: ``view.ls_line`` does that."""
    line = f"{item['n']}. [{item['name']}] {shorten(str(item['worktree']), str(item.get('home') or ''))}"
    line += f" (port: {item['port']})"
    if item.get("unreachable"):
        line += f" (unreachable: {item['unreachable']}; last seen {item['state']})"
    elif item.get("state") in ("paused", "exited", "orphaned", "dead"):
        line += f" ({item['state']})"
    if item.get("active"):
        line += " *active*"
    return line


@dataclass
class HostStatus:
    """What the local side knows of one host right now (the controller keeps it, fed by the host's stream)."""

    name: str
    reachable: bool = False
    reason: str = "not connected yet"
    instances: list[dict[str, Any]] = field(default_factory=list)
    home: str = ""
    version: str = ""


def last_line(text: str | bytes, fallback: str) -> str:
    """The one line worth showing of ssh's (or a host's) stderr (its last non-empty one), printable and bounded."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return printable(lines[-1][:200]) if lines else fallback

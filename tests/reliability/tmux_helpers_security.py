"""An attached tmux client for the security tests: messages and menus only expand formats on a client."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from helpers.env import Env
from helpers.tty_client import attached_client


@contextlib.contextmanager
def attached(env: Env) -> Iterator[int]:
    with attached_client(env) as master:
        yield master

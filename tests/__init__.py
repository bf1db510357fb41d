"""The test suite is a package tree: every folder under tests/ has an ``__init__.py``.

Import test helpers by their full package path, never by a bare module name and never through ``sys.path``
edits: ``from tests.helpers.env import Env``, ``from tests.helpers.waiting import retry_until``,
``from tests.nvim.nvim_helpers import NvimProc``, ``from tests.reliability.reliability_helpers import ctl``,
``from tests.e2e.screen import Pane``. pytest's default "prepend" import mode puts the repository root (the first
folder above tests/ without an ``__init__.py``) on ``sys.path``, so this works from a clean clone.

Wait for a condition with ``tests.helpers.waiting.retry_until`` (or ``aretry_until`` in async code), never with
a bare sleep or a hand-written deadline loop. mypy checks tests/ strictly, like the package.
"""

"""The sans-I/O protocol core: JSON-RPC envelopes, the MCP server session the Claude Code CLI talks
to, the IDE tool registry, editor notifications, the lock-file record and the control-socket codec.

Nothing here touches sockets, files, processes or an event loop (``tests/protocol/test_purity.py``
enforces it): text goes in, actions come out, and the adapters and controller do the I/O.

The submodules are not imported here: the CLI's fast path (every tmux key press) needs only ``control``,
and importing the MCP session and tool registry with it cost about 12 ms per press.
"""

from __future__ import annotations

__all__ = ["control", "jsonrpc", "lockfile", "mcp", "notifications", "tools"]

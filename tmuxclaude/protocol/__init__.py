"""The sans-I/O protocol core: JSON-RPC envelopes, the MCP server session the Claude Code CLI talks
to, the IDE tool registry, editor notifications and the lock-file record.

Nothing here touches sockets, files, processes or an event loop (``tests/protocol/test_purity.py``
enforces it): text goes in, actions come out, and the adapters and controller do the I/O.
"""

from __future__ import annotations

from tmuxclaude.protocol import jsonrpc, lockfile, mcp, notifications, tools

__all__ = ["jsonrpc", "lockfile", "mcp", "notifications", "tools"]

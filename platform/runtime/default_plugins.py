"""The runtime's default plugins: built-in blocks and the password login provider."""

from __future__ import annotations

from .auth import password_plugin
from .blocks import builtin


def plugins() -> list[object]:
    """Plugins registered by every runtime application before entry-point plugins."""
    return [builtin, password_plugin]

"""Fixtures of the builder tests: the b2c blueprint served by `portalis_portal` (SQLite and
PostgreSQL) with every installed plugin — the builder, the second factor and the network
allow-list."""

from __future__ import annotations

import pytest
from builder_support import BuilderBrowser

from portalis.testing.web import WebPortal


@pytest.fixture
def web(portalis_portal: WebPortal) -> WebPortal:
    """The served b2c blueprint (seeded)."""
    return portalis_portal


@pytest.fixture
def browser(web: WebPortal) -> BuilderBrowser:
    """A fresh test browser of the builder."""
    return BuilderBrowser(web.app)

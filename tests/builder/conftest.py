"""Fixtures of the builder tests: the b2c blueprint served by `portalis_portal` (SQLite and
PostgreSQL) with every installed plugin — the builder, the second factor and the network
allow-list — and, for the browser tests, `builder_ui` (browser_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser_support import StartUI, builder_ui_factory
from builder_support import BuilderBrowser

from portalis.testing.web import WebPortal

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture
def web(portalis_portal: WebPortal) -> WebPortal:
    """The served b2c blueprint (seeded)."""
    return portalis_portal


@pytest.fixture
def browser(web: WebPortal) -> BuilderBrowser:
    """A fresh test browser of the builder."""
    return BuilderBrowser(web.app)


@pytest.fixture
def builder_ui(portalis_browser: Browser, tmp_path: Path) -> Iterator[StartUI]:
    """`builder_ui(email=…, rights=…, portals=…, signed_in=…, viewport=…)`: the b2c blueprint
    served over HTTP (SQLite), a builder account and a Chromium page signed in to the
    builder; stopped after the test."""
    with builder_ui_factory(portalis_browser, tmp_path) as start:
        yield start

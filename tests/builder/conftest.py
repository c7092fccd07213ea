"""Fixtures of the builder tests: the b2c blueprint served (SQLite and PostgreSQL) with
every installed plugin — the builder, the second factor and the network allow-list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from builder_support import BuilderBrowser

from portalis.testing.web import WebPortal


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    """The b2c blueprint deployed with its seed data and served."""
    served = WebPortal.deploy(database_url, tmp_path / "instance")
    try:
        yield served
    finally:
        served.close()


@pytest.fixture
def browser(web: WebPortal) -> BuilderBrowser:
    """A fresh test browser of the builder."""
    return BuilderBrowser(web.app)

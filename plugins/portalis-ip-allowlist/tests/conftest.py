"""The Portalis test fixtures this plugin's tests use (`database_url`: SQLite and PostgreSQL)."""

from __future__ import annotations

from portalis.testing.pytest_plugin import database_url  # noqa: F401 - the fixture

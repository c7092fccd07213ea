"""The Portalis test fixtures this plugin's tests use (`database_url`: SQLite and PostgreSQL)."""

from __future__ import annotations

from oidc_sso import deploy, idp  # noqa: E402, F401 - the provider and portal fixtures

from portalis.testing.pytest_plugin import database_url  # noqa: F401 - the fixture

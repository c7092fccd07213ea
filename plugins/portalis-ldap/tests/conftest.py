"""Fixtures of the LDAP plugin's tests: both databases, one real slapd per session, and
`serve()`: the b2c blueprint with the test's `type: ldap` provider entries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from ldap_support import Serve, all_entries, definition
from portalis_ldap.testing import (
    SERVICE_PASSWORD,
    Directory,
    slapd_directory,  # noqa: F401 - the fixture
)
from portalis_ldap.testing_certs import make_ca

from portalis.testing.databases import sqlite_database
from portalis.testing.pytest_plugin import database_url  # noqa: F401 - the fixture
from portalis.testing.web import WebPortal


@pytest.fixture
def directory(slapd_directory: Directory) -> Directory:  # noqa: F811 - the imported fixture
    """The session's slapd."""
    return slapd_directory


@pytest.fixture(scope="session")
def other_ca(slapd_directory: Directory) -> Path:  # noqa: F811
    """A CA certificate that did not sign the directory's server certificate."""
    return make_ca(slapd_directory.folder, "Other CA")[0]


@contextmanager
def serving(url: str, tmp_path: Path, directory: Directory, other_ca: Path) -> Iterator[Serve]:
    """`serve()` deploys b2c with every test entry on `url` (the service password in the
    deploy's and the app's environment)."""
    served: list[WebPortal] = []

    def deploy() -> WebPortal:
        folder = tmp_path / f"portal{len(served)}"
        web = WebPortal.deploy(
            url,
            tmp_path / f"instance{len(served)}",
            definition(folder, all_entries(directory, other_ca)),
            env={"LDAP_BIND_PASSWORD": SERVICE_PASSWORD},
        )
        served.append(web)
        return web

    try:
        yield deploy
    finally:
        for web in served:
            web.close()


@pytest.fixture
def serve(
    database_url: str,  # noqa: F811
    tmp_path: Path,
    directory: Directory,
    other_ca: Path,
) -> Iterator[Serve]:
    """Portals on SQLite and on PostgreSQL."""
    with serving(database_url, tmp_path, directory, other_ca) as deploy:
        yield deploy


@pytest.fixture
def serve_sqlite(tmp_path: Path, directory: Directory, other_ca: Path) -> Iterator[Serve]:
    """Portals on SQLite only (for tests where the database does not matter)."""
    with sqlite_database(tmp_path) as url, serving(url, tmp_path, directory, other_ca) as deploy:
        yield deploy

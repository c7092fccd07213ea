"""Fixtures shared by the runtime tests: the served portals of the auth and the API tests.

A module that needs another portal defines its own fixture of the same name, which wins.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import test_api_support
import test_auth_support
from test_api_support import Harness
from test_auth_support import AuthHarness

from portalis.engine.deploy.validator import Checker
from portalis.testing.smtp import SmtpServer


@pytest.fixture
def auth(
    database_url: str, tmp_path: Path, portalis_checker: Checker, smtp_server: SmtpServer
) -> Iterator[AuthHarness]:
    """The b2c blueprint served with its mail going to a real SMTP server."""
    with test_auth_support.serve(database_url, tmp_path, portalis_checker, smtp_server) as harness:
        yield harness


@pytest.fixture
def api(database_url: str, tmp_path: Path, portalis_checker: Checker) -> Iterator[Harness]:
    """The b2c blueprint served for the REST API tests."""
    with test_api_support.serve(database_url, tmp_path, portalis_checker) as harness:
        yield harness


@pytest.fixture
def api_ext(database_url: str, tmp_path: Path, portalis_checker: Checker) -> Iterator[Harness]:
    """b2c with more field types (`test_api_support.extended_b2c`), served for the API."""
    folder = test_api_support.extended_b2c(tmp_path)
    with test_api_support.serve(database_url, tmp_path, portalis_checker, folder) as harness:
        yield harness

"""Shared fixtures: the Portalis pytest plugin provides `database_url` and friends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from portalis.engine import passwords

pytest_plugins = ["portalis.testing.pytest_plugin"]


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[None]:
    """Argon2id with small parameters inside this test process (production keeps RFC 9106's).

    Hashing at 64 MiB per call dominates the suite's time; the algorithm and every code path
    stay the same. Subprocess tests (the CLI) still use the real parameters.
    """
    original = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = original

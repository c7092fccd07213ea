"""Shared fixtures of the repository's tests.

The Portalis pytest plugin (`database_url`, `portalis_portal`, `login_as`, …) is registered by
the `pytest11` entry point of the installed `portalis` distribution, not here: naming it in
`pytest_plugins` too would register it twice.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from portalis.engine.accounts import passwords


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

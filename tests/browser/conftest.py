"""Browser tests: the live server of `portalis.testing.browser` (the `portalis_browser`
fixture, one Chromium per test process, comes from the `portalis.testing` pytest plugin)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from portalis.testing.browser import (  # noqa: F401 - fixtures used by the tests here
    LiveServer,
    live_server,
    portalis_definition,
    portalis_live_server,
)


@pytest.fixture
def starter_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The starter blueprint, seeded into a fresh SQLite file of this test and served: for
    journeys that change its records."""
    with live_server(directory=tmp_path / "live") as live:
        yield live

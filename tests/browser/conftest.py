"""Browser tests: the live server of `portalis.testing.browser` (the `portalis_browser`
fixture, one Chromium per test process, comes from the `portalis.testing` pytest plugin)."""

from portalis.testing.browser import (  # noqa: F401 - fixtures used by the tests here
    portalis_definition,
    portalis_live_server,
)

"""Browser tests: the reusable fixtures of `portalis.testing.browser` (live server, Chromium)."""

from portalis.testing.browser import (  # noqa: F401 - fixtures used by the tests here
    portalis_browser,
    portalis_definition,
    portalis_live_server,
)

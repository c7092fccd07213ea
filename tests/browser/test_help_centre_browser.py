"""An anonymous visitor finds help in a real browser (headless Chromium): the home page's
search box opens the help centre with the words as `?q=`, the matching article opens with its
Markdown rendered, answers "Was this helpful?" (the agent sees the tally) and sees related
articles; every page has no serious or critical axe-core violation at 1280 and 375 px.
Screenshots go to `screenshot_dir` (PORTALIS_SCREENSHOTS to look at them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from portalis.testing.browser import (
    LiveServer,
    axe_violations,
    new_page,
    screenshot_dir,
    screenshots,
)

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser


def accessible_at_both_widths(page: Page) -> None:
    for width, height in ((1280, 900), (375, 812)):
        page.set_viewport_size({"width": width, "height": height})
        assert axe_violations(page) == [], f"at {width} px"


@pytest.mark.parametrize("width", [375, 1280])
def test_a_visitor_searches_the_help_centre_from_home(
    starter_server: LiveServer, portalis_browser: Browser, tmp_path: Path, width: int
) -> None:
    shots = screenshot_dir(tmp_path)
    with new_page(portalis_browser, viewport={"width": width, "height": 900}) as page:
        page.goto(starter_server.url("/"))
        box = page.get_by_role("searchbox", name="Search for")
        assert box.is_visible()
        accessible_at_both_widths(page)
        screenshots(page, shots, "help-home")
        page.set_viewport_size({"width": width, "height": 900})
        box.fill("password")
        with page.expect_navigation():
            box.press("Enter")  # keyboard-usable: Enter submits the search
        assert page.url.endswith("/help?q=password")
        link = page.get_by_role("link", name="Reset a forgotten password")
        assert link.is_visible()
        assert page.get_by_role("link", name="Payment methods we accept").count() == 0
        accessible_at_both_widths(page)
        screenshots(page, shots, "help-results")
        page.set_viewport_size({"width": width, "height": 900})
        with page.expect_navigation():
            link.click()
        assert page.get_by_role("heading", name="Request a reset link").is_visible()
        assert page.locator(".value-body strong", has_text="one hour").is_visible()
        accessible_at_both_widths(page)
        screenshots(page, shots, "help-article")


@pytest.mark.parametrize("width", [375, 1280])
def test_a_visitor_answers_was_this_helpful(
    starter_server: LiveServer, portalis_browser: Browser, tmp_path: Path, width: int
) -> None:
    shots = screenshot_dir(tmp_path)
    with new_page(portalis_browser, viewport={"width": width, "height": 900}) as page:
        page.goto(starter_server.url("/help?q=password"))
        with page.expect_navigation():
            page.get_by_role("link", name="Reset a forgotten password").click()
        question = page.get_by_role("heading", name="Was this article helpful?")
        question.scroll_into_view_if_needed()
        yes = page.get_by_role("button", name="Yes")
        assert yes.get_attribute("aria-pressed") == "false"
        with page.expect_navigation():
            yes.click()  # a plain form post: no script involved
        assert page.get_by_text("Thank you for your feedback.").is_visible()
        assert page.get_by_role("button", name="Yes").get_attribute("aria-pressed") == "true"
        # changing the answer: still one vote, now "No"
        with page.expect_navigation():
            page.get_by_role("button", name="No").click()
        assert page.get_by_role("button", name="No").get_attribute("aria-pressed") == "true"
        assert page.get_by_role("button", name="Yes").get_attribute("aria-pressed") == "false"
        related = page.get_by_role("navigation", name="Related articles")
        assert related.get_by_role("link", name="Turn on two-factor sign-in").is_visible()
        page.get_by_role("heading", name="Was this article helpful?").scroll_into_view_if_needed()
        accessible_at_both_widths(page)
        page.set_viewport_size({"width": width, "height": 900})
        page.locator(".block-feedback").scroll_into_view_if_needed()
        screenshots(page, shots, "help-feedback")
        article = page.url
    # the agent, who may edit the article, sees how readers answered
    with new_page(portalis_browser, viewport={"width": width, "height": 900}) as page:
        path = article[article.index("/help/") :].split("#")[0]
        starter_server.login(page, "sam@support.test", "correct horse 43", next_path=path)
        tally = page.locator(".feedback-tally")
        assert tally.inner_text() == "Rated helpful: 0 of 1 (0 %)."
        accessible_at_both_widths(page)
        screenshots(page, shots, "help-feedback-agent")

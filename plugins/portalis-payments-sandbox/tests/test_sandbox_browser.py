"""The hosted test checkout in a real Chromium (live server, SQLite): used with the keyboard
alone, no serious or critical axe-core violation on its pages, and laid out for 1280 and
375 px wide screens (screenshots in PORTALIS_SCREENSHOTS, else the test's folder)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sandbox_support import CONFIG, ENV, PROVIDER, SHOP, context, events, request_for

from portalis.api import Checkout
from portalis.testing.browser import (
    LiveServer,
    axe_violations,
    live_server,
    new_page,
    screenshot_dir,
)
from portalis.testing.web import app_state
from portalis.testing.webhooks import WebhookReceiver

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser


def checkout(live: LiveServer, receiver: WebhookReceiver, **options: str) -> Checkout:
    return PROVIDER.create_checkout(
        CONFIG,
        request_for(receiver.url("/events"), return_url=live.url("/"), **options),
        context(app_state(live.app).engine, live.base_url),
    )


def fits(page: Page, width: int) -> None:
    """Nothing wider than the screen (no sideways scrolling)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_hosted_page_in_chromium(
    tmp_path: Path, portalis_browser: Browser, receiver: WebhookReceiver
) -> None:
    shots = screenshot_dir(tmp_path)
    with live_server(SHOP, directory=tmp_path / "live", seed=False, env=ENV) as live:
        # desktop, keyboard only: the verification step with a wrong, then the right code
        first = checkout(live, receiver, amount="1250.00", description="Invoice INV-2026-00017")
        with new_page(portalis_browser, viewport={"width": 1280, "height": 900}) as page:
            page.goto(first.redirect_url)
            assert page.get_by_text("Sandbox payment — no real money").is_visible()
            assert page.locator(".sandbox-amount").inner_text() == "€1,250.00"
            assert axe_violations(page) == []
            fits(page, 1280)
            page.screenshot(path=str(shots / "sandbox-checkout-1280.png"), full_page=True)
            for _ in range(12):  # from the skip link through the choices, in page order
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.textContent") == (
                    "Approve with a verification step"
                ):
                    break
            with page.expect_navigation():
                page.keyboard.press("Enter")
            code = page.get_by_label("Verification code")
            assert code.evaluate("element => element === document.activeElement")  # autofocus
            page.keyboard.type("9999")
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert code.get_attribute("aria-invalid") == "true"
            assert "That code is not right" in page.locator("#sandbox-code-error").inner_text()
            assert axe_violations(page) == []
            page.screenshot(path=str(shots / "sandbox-verify-error-1280.png"), full_page=True)
            code.fill("1234")
            with page.expect_navigation():
                code.press("Enter")
            assert page.url == live.url("/")
        [event] = events(live.app, receiver, 1)
        assert (event.kind, event.reference) == ("succeeded", first.reference)

        # phone: the page fits, settle later, and the finished page afterwards
        second = checkout(live, receiver, description="Order 2026-0042 with a rather long name")
        with new_page(portalis_browser, viewport={"width": 375, "height": 812}) as page:
            page.goto(second.redirect_url)
            fits(page, 375)
            assert axe_violations(page) == []
            page.screenshot(path=str(shots / "sandbox-checkout-375.png"), full_page=True)
            with page.expect_navigation():
                page.get_by_role("button", name="Approve and settle later").click()
            page.goto(second.redirect_url)
            assert page.get_by_role("status").inner_text().startswith("You approved the payment")
            fits(page, 375)
            assert axe_violations(page) == []
            page.screenshot(path=str(shots / "sandbox-finished-375.png"), full_page=True)
        kinds = [e.kind for e in events(live.app, receiver, 3)[1:]]
        assert kinds == ["pending", "succeeded"]
        assert live.errors == []

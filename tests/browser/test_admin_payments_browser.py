"""/admin/payments in Chromium at 375 and 1280 px: a clerk of the pay shop signs in, the
page shows the chart (the narrow drawing on the phone) and the list with a flagged row, fits
the screen without sideways scrolling, passes axe-core (no serious or critical violation)
and logs no error. Screenshots: `screenshot_dir`."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pay_shop_support import ENV, PayShop, shop_folder

from portalis.testing.browser import (
    axe_violations,
    live_server,
    new_page,
    page_errors,
    screenshot_dir,
)
from portalis.testing.web import WebPortal

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_admin_payments_page_at_375_and_1280(portalis_browser: Browser, tmp_path: Path) -> None:
    shots = screenshot_dir(tmp_path)
    folder = shop_folder(tmp_path / "shop")
    with live_server(folder, directory=tmp_path / "live", env=ENV) as live:
        shop = PayShop(WebPortal(live.app, live.compiled))
        today = datetime.now(UTC).date()
        for days_ago, total, method in ((3, "120.00", "card"), (1, "80.00", "sepa_debit"),
                                        (0, "45.50", "card")):  # fmt: skip
            moment = datetime.combine(today - timedelta(days=days_ago), time(12), UTC)
            shop.paid(shop.record(total=total), at=moment, method=method)
        order = shop.start(shop.record("order", total="25.00"), entity="order")
        shop.choose(order)
        assert shop.deliver(order).result == "applied"
        flagged = shop.start(shop.record(total="30.00"))
        assert shop.deliver(flagged, amount="3.00").result == "flagged"
        for width, drawing in ((375, "narrow"), (1280, "wide")):
            with new_page(
                portalis_browser, viewport={"width": width, "height": 900}, locale="en-GB"
            ) as page:
                errors = page_errors(page)
                live.login(page, "cleo@shop.test", "correct horse 42")
                page.goto(live.url("/admin/payments"))
                charts = page.locator("figure.chart img")
                assert charts.count() == 2  # EUR and USD
                page.wait_for_function(
                    "() => [...document.querySelectorAll('figure.chart img')].every(i => i.complete)"
                )
                source, narrow = charts.first.evaluate(
                    "i => [i.currentSrc, i.parentElement.querySelector('source').srcset]"
                )
                assert (source == narrow) is (drawing == "narrow")
                assert page.locator("tr.payment-flagged").count() == 1
                assert page.locator("tr.payment-flagged .payment-flag").is_visible()
                page.get_by_label("Status").select_option("flagged")
                page.get_by_role("button", name="Filter").click()
                page.wait_for_url("**status=flagged**")
                assert page.locator("table.admin-payments tbody tr").count() == 1
                page.goto(live.url("/admin/payments"))
                page.locator("details.kpi-data summary").first.click()
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(path=str(shots / f"admin-payments-{width}.png"), full_page=True)
                assert axe_violations(page) == []
                assert errors == []

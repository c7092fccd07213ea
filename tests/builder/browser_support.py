"""Shared set-up of the builder's browser tests (headless Chromium via Playwright): the b2c
blueprint served over real HTTP, a builder account, a page that collects console errors (a
CSP violation shows there), the sign-in through the real login pages with the second factor
enrolled from the QR page's key, and axe-core. The `builder_ui` fixture (conftest.py) starts
one `BuilderUI` per test. This module holds no tests."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from builder_support import PASSWORD, add_account

from portalis.engine import drafts
from portalis.testing.authenticator import Authenticator
from portalis.testing.browser import axe_violations, live_server, new_page, screenshot_dir
from portalis.testing.web import app_state

if TYPE_CHECKING:  # Playwright may be missing: the fixtures then skip (fail with CI=true)
    from playwright.sync_api import Browser, ConsoleMessage, Page

    from portalis.testing.browser import LiveServer

#: The builder account of the browser tests.
EMAIL = "editor@example.test"
#: The window the builder is tested at (the screenshots' width).
VIEWPORT = {"width": 1280, "height": 900}


def _console(message: ConsoleMessage, errors: list[str]) -> None:
    """Collect console errors but the two expected ones: the favicon probe (404: the layout
    declares no icon) and the conflict page's own status (409)."""
    url = str(message.location.get("url"))
    if (
        message.type == "error"
        and not url.endswith("/favicon.ico")
        and "(CONFLICT)" not in message.text
    ):
        errors.append(f"{message.text} ({url})")


def watch(page: Page, errors: list[str]) -> Page:
    """Collect the console errors and uncaught exceptions of `page` into `errors`."""
    page.on("console", lambda m: _console(m, errors))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


def sign_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> Authenticator:
    """The first sign-in through the builder's forms: password, enrolment of an
    authenticator from the key on the QR page, the recovery codes, then the start page."""
    page.goto(f"{base_url}/_builder/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/_builder/login/code$"))
    secret = page.locator("[data-secret]").get_attribute("data-secret")
    assert secret
    authenticator = Authenticator(secret)
    page.get_by_label("Code").fill(authenticator.code())
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Recovery codes").wait_for()
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(re.compile(r"/_builder/$"))
    return authenticator


def form_order(page: Page) -> list[str]:
    """The field names of the forms editor's list, in order."""
    names = page.locator("#form-fields li").evaluate_all("e => e.map(li => li.dataset.name)")
    return [str(n) for n in names]


def add_and_drag(page: Page, field: str, onto: str, *, saved: int) -> list[str]:
    """In the forms editor: add `field` (saved as revision `saved`, last in the form), then
    drag it by its SortableJS handle onto the place of `onto` (revision `saved` + 1); the
    form's new order."""
    page.get_by_label("Field", exact=True).select_option(field)
    page.get_by_role("button", name="Add to the form").click()
    page.wait_for_url(re.compile(rf"saved={saved}\b"))
    assert form_order(page)[-1] == field
    handle = page.locator(f"#form-field-{field} .handle")
    handle.drag_to(page.locator(f"#form-field-{onto} .handle"))
    page.wait_for_url(re.compile(rf"saved={saved + 1}\b"))
    return form_order(page)


@dataclass
class BuilderUI:
    """A served b2c portal and a browser page of the builder (signed in unless asked not to)."""

    browser: Browser
    live: LiveServer
    page: Page
    shots: Path
    email: str
    errors: list[str] = field(default_factory=list)

    @property
    def engine(self) -> sa.Engine:
        """The served app's database."""
        return app_state(self.live.app).engine

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return self.live.base_url

    def draft(self, name: str = "work") -> int:
        """A new draft of the live version (the arrangement of an editor's test)."""
        return drafts.draft_from_live(self.engine, self.live.slug, name=name).id

    def draft_url(self, draft: int) -> str:
        """The absolute URL of a draft's pages (`…/_builder/p/<slug>/d/<draft>`)."""
        return f"{self.base_url}/_builder/p/{self.live.slug}/d/{draft}"

    def open_draft(self, editor: str, name: str = "work") -> tuple[int, str]:
        """A new draft, and its `editor` page (e.g. `entities/ticket`) opened; the draft's
        id and the URL of its pages."""
        draft = self.draft(name)
        root = self.draft_url(draft)
        self.page.goto(f"{root}/{editor}")
        return draft, root

    def shot(self, name: str, *, full_page: bool = True, page: Page | None = None) -> Path:
        """A screenshot `name` of the page (or of `page`) into the screenshot folder."""
        path = self.shots / name
        (page or self.page).screenshot(path=str(path), full_page=full_page)
        return path

    def assert_accessible(self, page: Page | None = None) -> None:
        """No serious or critical axe-core violation on the page."""
        assert axe_violations(page or self.page) == []

    @contextmanager
    def other_page(self, viewport: dict[str, int] | None = None) -> Iterator[Page]:
        """A page in a browser context of its own (its own cookies), watched like the
        builder's page."""
        with new_page(self.browser, viewport=viewport or VIEWPORT) as page:
            yield watch(page, self.errors)


#: `builder_ui(...)`: what the fixture hands a test.
StartUI = Callable[..., BuilderUI]


@contextmanager
def builder_ui_factory(browser: Browser, tmp_path: Path) -> Iterator[StartUI]:
    """The factory behind the `builder_ui` fixture; everything it starts stops afterwards."""
    with ExitStack() as stack:

        def start(
            email: str = EMAIL,
            *,
            rights: Iterable[str] = ("edit",),
            portals: Iterable[str] | None = None,
            signed_in: bool = True,
            viewport: dict[str, int] | None = None,
        ) -> BuilderUI:
            live = stack.enter_context(live_server(directory=tmp_path / "live"))
            add_account(
                app_state(live.app).engine, email, portals=portals or (live.slug,), rights=rights
            )
            page = stack.enter_context(new_page(browser, viewport=viewport or VIEWPORT))
            ui = BuilderUI(browser, live, page, screenshot_dir(tmp_path), email)
            watch(page, ui.errors)
            if signed_in:
                sign_in(page, live.base_url, email)
            return ui

        yield start

"""Browser tests for plugin and blueprint authors: a live server and a headless Chromium.

`portalis_browser` (one session-wide Chromium per test process — Playwright's sync API allows
only one instance per process, so never start a second one with `chromium()` in a test) comes
with the `portalis.testing` pytest plugin. Import the live-server fixtures you need into your
`conftest.py`::

    from portalis.testing.browser import (  # noqa: F401
        portalis_definition, portalis_live_server,
    )

`portalis_live_server` deploys `portalis_definition` (default: the b2c blueprint, seeded) into
a temporary SQLite file and serves it for real — Werkzeug's threaded server on 127.0.0.1 and a
free port, in a background thread. `portalis_browser` launches the system Chromium
(`/usr/bin/chromium` on Debian, or `PORTALIS_CHROMIUM`) through Playwright; Playwright's own
browser downloads are never used. When Playwright or Chromium is missing the fixtures skip
with the reason — with `CI=true` they fail instead (see `require_service`). Override
`portalis_definition` (a folder path) in your conftest to serve your own definition.

Helpers: `LiveServer.url(path)`, `LiveServer.login(page, email, password)` (through the real
login page), `new_page(browser, **context_options)` for a fresh, isolated browser profile.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from portalis.engine.portal import CompiledPortal
from portalis.runtime.app import create_app
from portalis.runtime.job_handlers import stop_embedded_worker
from portalis.runtime.settings import Settings

from .portals import BLUEPRINTS, deploy_served
from .services import require_service

try:  # Playwright is a test dependency; without it the browser fixtures skip (fail in CI)
    from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None  # type: ignore[assignment]

try:  # axe-core for Playwright, a test dependency like Playwright itself
    from axe_playwright_python.sync_playwright import Axe
except ImportError:  # pragma: no cover - depends on the environment
    Axe = None

#: Where the system Chromium lives unless PORTALIS_CHROMIUM says otherwise.
DEFAULT_CHROMIUM = "/usr/bin/chromium"
#: Flags for a headless Chromium inside containers and CI runners.
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking")


def chromium_path() -> str | None:
    """The Chromium executable to use, or None when there is none."""
    configured = os.environ.get("PORTALIS_CHROMIUM")
    for candidate in (configured, DEFAULT_CHROMIUM, shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def browser_unavailable() -> str | None:
    """None when browser tests can run, else the reason they cannot."""
    if sync_playwright is None:
        return "the Python package 'playwright' is not installed"
    if chromium_path() is None:
        return (
            f"Chromium is not installed ({DEFAULT_CHROMIUM}; `apt-get install chromium` or set "
            "PORTALIS_CHROMIUM)"
        )
    return None


@dataclass
class LiveServer:
    """A Portalis app served over real HTTP on 127.0.0.1."""

    app: Flask
    server: BaseWSGIServer
    compiled: CompiledPortal
    thread: threading.Thread
    errors: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def slug(self) -> str:
        """The served portal's slug."""
        return self.compiled.slug

    def url(self, path: str = "/") -> str:
        """The absolute URL of a portal path (`/tickets` → `http://…/<slug>/tickets`)."""
        return f"{self.base_url}/{self.slug}{path}"

    def login(self, page: Page, email: str, password: str, *, next_path: str = "/") -> None:
        """Sign in through the portal's login page and wait until the browser is signed in."""
        page.goto(self.url("/login"))
        # the e-mail + password form (the page may also show directory forms and SSO buttons)
        form = page.locator("form:has(input[name=email])")
        form.locator("input[name=email]").fill(email)
        form.locator("input[name=password]").fill(password)
        with page.expect_response(
            lambda r: r.request.method == "POST" and r.url.endswith("/login")
        ) as answer:
            form.locator("button[type=submit]").click()
        if answer.value.status != 303:
            raise AssertionError(f"signing in as {email} failed: HTTP {answer.value.status}")
        page.wait_for_load_state()
        if next_path != "/":
            page.goto(self.url(next_path))

    def shutdown(self) -> None:
        """Stop serving and release the database."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        stop_embedded_worker(self.app)  # it would poll a database about to be deleted
        self.app.extensions["portalis"].engine.dispose()


@contextmanager
def live_server(
    definition: str | os.PathLike[str] = BLUEPRINTS / "b2c",
    *,
    directory: str | os.PathLike[str] | None = None,
    seed: bool = True,
    env: dict[str, str] | None = None,
) -> Iterator[LiveServer]:
    """Deploy `definition` into a fresh SQLite file under `directory` and serve it."""
    with tempfile.TemporaryDirectory(prefix="portalis-live-") as scratch:
        base = Path(directory) if directory is not None else Path(scratch)
        base.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{base / 'portal.sqlite'}"
        compiled = deploy_served(url, definition, seed=seed, env=env)
        settings = Settings.from_env(
            {
                "PORTALIS_DATABASE_URL": url,
                "PORTALIS_INSTANCE_PATH": str(base / "instance"),
                **(env or {}),
            },
            version_check_seconds=0,
            loopback_hosts=True,  # a dev server on 127.0.0.1: links use that host
        )
        app = create_app(settings)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="portalis-live", daemon=True)
        thread.start()
        live = LiveServer(app, server, compiled, thread)
        try:
            yield live
        finally:
            live.shutdown()


@contextmanager
def chromium(**launch_options: Any) -> Iterator[Browser]:
    """A headless system Chromium driven by Playwright (raises when unavailable)."""
    reason = browser_unavailable()
    if reason is not None:
        raise RuntimeError(reason)
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=list(CHROMIUM_ARGS), **launch_options
        )
        try:
            yield browser
        finally:
            browser.close()


def screenshot_dir(tmp_path: Path) -> Path:
    """Where a browser test saves its screenshots: `PORTALIS_SCREENSHOTS` when set (to look
    at them, e.g. for the docs), else the test's temporary folder."""
    folder = Path(os.environ.get("PORTALIS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def axe_violations(page: Page) -> list[str]:
    """The serious and critical axe-core violations of the page (rule and first target)."""
    if Axe is None:  # pragma: no cover - depends on the environment
        raise RuntimeError("axe-playwright-python is not installed")
    results: dict[str, Any] = Axe().run(page).response
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['target'] if v['nodes'] else ''}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def page_errors(page: Page) -> list[str]:
    """The page's console errors and uncaught exceptions, collected as they happen (a CSP
    violation shows up here) — except Chromium's favicon probe: the layout declares no icon,
    so its guess is a 404 that is not the page's."""
    errors: list[str] = []

    def console(message: Any) -> None:
        where = str(message.location.get("url") or "")
        if message.type == "error" and not where.endswith("/favicon.ico"):
            errors.append(f"{message.text} ({where})")

    page.on("console", console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def screenshots(page: Page, folder: Path, name: str) -> None:
    """Full-page screenshots of `page` at 1280 and 375 px, `<name>-<width>.png` in `folder`
    (scrolled to the top first: a sticky header would be drawn mid-page)."""
    for width, height in ((1280, 900), (375, 812)):
        page.set_viewport_size({"width": width, "height": height})
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


@contextmanager
def new_page(browser: Browser, **context_options: Any) -> Iterator[Page]:
    """A page in a fresh browser context (own cookies), closed afterwards."""
    context: BrowserContext = browser.new_context(**context_options)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


# -- pytest fixtures --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def portalis_definition() -> Path:
    """The definition the live server serves (override in a conftest for your own)."""
    return BLUEPRINTS / "b2c"


@pytest.fixture(scope="session")
def portalis_browser() -> Iterator[Browser]:
    """A session-wide headless Chromium; skips (fails in CI) when it cannot start."""
    require_service(browser_unavailable())
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="session")
def portalis_live_server(
    portalis_definition: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The definition deployed (seeded) into a temporary SQLite file and served over HTTP."""
    with live_server(portalis_definition, directory=tmp_path_factory.mktemp("live")) as live:
        yield live


__all__ = [
    "CHROMIUM_ARGS",
    "LiveServer",
    "browser_unavailable",
    "chromium",
    "chromium_path",
    "live_server",
    "new_page",
    "portalis_browser",
    "portalis_definition",
    "portalis_live_server",
    "screenshot_dir",
]

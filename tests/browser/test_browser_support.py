"""The browser test support itself: the live server speaks real HTTP; a missing Chromium is
reported with a reason (the fixtures skip locally and fail with CI=true)."""

from __future__ import annotations

import json
import shutil
import urllib.request

import pytest

from portalis.testing import browser
from portalis.testing.browser import LiveServer, browser_unavailable


def test_live_server_serves_over_http(portalis_live_server: LiveServer) -> None:
    with urllib.request.urlopen(f"{portalis_live_server.base_url}/_ready", timeout=10) as answer:
        assert answer.status == 200
        assert json.loads(answer.read()) == {"status": "ok", "portals": ["acme-support"]}
    with urllib.request.urlopen(portalis_live_server.url("/login"), timeout=10) as answer:
        assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "Sign in" in answer.read().decode()


def test_missing_chromium_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser, "DEFAULT_CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("PORTALIS_CHROMIUM", "/nonexistent/other")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    reason = browser_unavailable()
    assert reason is not None and "Chromium is not installed" in reason
    monkeypatch.setattr(browser, "sync_playwright", None)
    assert browser_unavailable() == "the Python package 'playwright' is not installed"

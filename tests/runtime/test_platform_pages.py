"""`portalis.web.use_locale`: the UI language of a platform-level page (outside any portal)."""

from __future__ import annotations

import pytest
from flask import Flask, g

from portalis.web import use_locale


@pytest.mark.parametrize(
    ("preferred", "accept", "expected"),
    [
        ("de", "fr", "de"),
        ("de-CH", None, "de"),
        ("es_MX", None, "es"),
        ("it", "fr-CA,fr;q=0.9,en;q=0.5", "fr"),  # not covered: the browser's choice
        (None, "es-MX", "es"),
        (None, None, "en"),
        ("xx", "ja", "en"),
    ],
)
def test_use_locale(preferred: str | None, accept: str | None, expected: str) -> None:
    app = Flask(__name__)
    headers = {"Accept-Language": accept} if accept else {}
    with app.test_request_context(headers=headers):
        assert use_locale(preferred) == expected
        assert g.locale == expected

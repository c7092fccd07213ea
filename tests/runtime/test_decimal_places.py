"""A `decimal` field shows the places it stores, trailing zeros included, in the locale's style
(`38,70` in German, `38.70` in English), on list and detail pages (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from portalis.runtime.i18n import format_fixed
from portalis.testing.portals import b2c_with
from portalis.testing.web import WebPortal

READINGS = """\
entities:
  reading:
    label: Reading
    title_field: code
    fields:
      code: {type: string, required: true}
      reading: {type: decimal, places: 2, label: {en: Reading, de: Ablesung}}
      factor: {type: decimal, places: 3}
    permissions:
      - {roles: [customer], actions: [read, create], scope: own}

pages:
  readings:
    route: /readings
    roles: [customer]
    blocks:
      - list: {entity: reading, columns: [code, reading, factor], link: reading}
  reading:
    route: /readings/<id>
    roles: [customer]
    blocks:
      - detail: {entity: reading}
"""


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    folder = b2c_with(tmp_path / "b2c-readings", files={"entities/reading.yaml": READINGS})
    portal = WebPortal.deploy(database_url, tmp_path / "instance", folder)
    yield portal
    portal.close()


@pytest.mark.parametrize(
    ("value", "places", "locale", "shown"),
    [
        (Decimal("38.7"), 2, "de", "38,70"),
        (Decimal("38.7"), 2, "en", "38.70"),
        (Decimal("1234567.5"), 2, "de", "1.234.567,50"),
        (Decimal("1234567.5"), 2, "hi", "12,34,567.50"),
        (Decimal("5"), 3, "fr", "5,000"),
        (Decimal("0.125"), 0, "en", "0"),
        (12, 2, "en", "12.00"),
    ],
)
def test_a_number_with_exactly_its_places(
    value: Decimal | int, places: int, locale: str, shown: str
) -> None:
    assert format_fixed(value, places, locale) == shown
    assert format_fixed(None, places, locale) == ""


def test_lists_and_details_show_the_fields_places(web: WebPortal) -> None:
    ben = web.actor("ben@acme.test")
    record = web.store.insert(
        ben, "reading", {"code": "M-1", "reading": Decimal("38.7"), "factor": Decimal("1.5")}
    )
    client = web.client("ben@acme.test")
    english = client.get("/readings?lang=en").text
    assert re.search(r'data-label="Reading">38\.70</td>', english)
    assert "1.500" in english
    german = client.get("/readings?lang=de").text
    assert re.search(r'data-label="Ablesung">38,70</td>', german)
    assert "1,500" in german
    detail = client.get(f"/readings/{record.id}").text
    assert "38,70" in detail and "38,7<" not in detail

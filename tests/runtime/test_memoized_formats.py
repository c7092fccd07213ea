"""Pure formatting that list pages repeat on every request is memoized: timestamps as one
`<time>` element per value, offset and locale; whole numbers per value and locale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from portalis.runtime.display import time_html
from portalis.runtime.i18n import _format_int, format_number


def test_equal_instants_in_other_zones_keep_their_own_offset() -> None:
    utc = datetime(2026, 3, 1, 10, 0, 30, tzinfo=UTC)
    paris = utc.astimezone(timezone(timedelta(hours=1)))
    assert utc == paris  # equal keys but for the offset
    a = time_html(utc, utc.utcoffset(), "en")
    b = time_html(paris, paris.utcoffset(), "en")
    assert 'datetime="2026-03-01T10:00:30+00:00"' in a
    assert 'datetime="2026-03-01T11:00:30+01:00"' in b
    assert a.striptags() == b.striptags() == "Mar 1, 2026, 10:00 AM"


def test_naive_values_are_utc_and_the_element_is_built_once() -> None:
    naive = datetime(2026, 3, 2, 8, 15)
    first = time_html(naive, None, "de")
    hits = time_html.cache_info().hits
    assert time_html(naive, None, "de") is first
    assert time_html.cache_info().hits == hits + 1
    assert first == '<time datetime="2026-03-02T08:15:00+00:00">02.03.2026, 08:15</time>'


def test_whole_numbers_are_formatted_once_per_locale() -> None:
    assert format_number(12345, "de") == "12.345"
    misses = _format_int.cache_info().misses
    assert format_number(12345, "de") == "12.345"
    assert format_number(12345, "en") == "12,345"
    assert _format_int.cache_info().misses == misses + 1

"""The sort, pager and clear links of a list: one pure function, memoized across requests."""

from __future__ import annotations

from portalis.runtime.blocks.list_urls import changed_url

ARGS = (("b0-q", ("vpn",)), ("b0-page", ("3",)), ("tab", ("a", "b")))


def test_links_change_only_this_blocks_parameters() -> None:
    assert changed_url("/p/t", ARGS, (), "b0-sort", "-subject", "b0-page", 1) == (
        "/p/t?b0-q=vpn&tab=a&tab=b&b0-sort=-subject"
    )
    assert changed_url("/p/t", ARGS, (), "b0-sort", None, "b0-page", 4) == (
        "/p/t?b0-q=vpn&b0-page=4&tab=a&tab=b"
    )
    cleared = changed_url("/p/t", ARGS, ("b0-q", "b0-page"), "b0-sort", None, "b0-page", None)
    assert cleared == "/p/t?tab=a&tab=b"
    assert changed_url("/p/t", (), (), "b0-sort", None, "b0-page", 1) == "/p/t"


def test_the_same_link_is_built_once() -> None:
    changed_url("/p/once", ARGS, (), "b0-sort", "status", "b0-page", 1)
    misses = changed_url.cache_info().misses
    for _ in range(3):
        changed_url("/p/once", ARGS, (), "b0-sort", "status", "b0-page", 1)
    assert changed_url.cache_info().misses == misses

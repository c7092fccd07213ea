"""Directory reads of a sign-in: find the user, read the entry, find the groups."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPException

from portalis.web import LoginRefused

from .inputs import fill_filter
from .options import LdapOptions

#: At most this many groups are taken from a group search (a user in more is unusual).
GROUP_LIMIT = 500


def _search(
    conn: ldap3.Connection,
    base: str,
    search_filter: str,
    scope: str,
    attributes: list[str],
    size_limit: int,
) -> list[dict[str, Any]]:
    try:
        ok = conn.search(
            base, search_filter, search_scope=scope, attributes=attributes,
            size_limit=size_limit, time_limit=0,
        )  # fmt: skip
    except LDAPException as error:
        raise LoginRefused(f"search_failed: {type(error).__name__}") from error
    description = str((conn.result or {}).get("description") or "")
    if not ok and description not in ("success", "noSuchObject", "sizeLimitExceeded"):
        raise LoginRefused(f"search_failed: {description}")
    return [r for r in (conn.response or []) if r.get("type") == "searchResEntry"]


def find_user_dn(conn: ldap3.Connection, options: LdapOptions, username: str) -> str:
    """Search-then-bind: the DN of the one entry `user_filter` matches; refused when none
    or several match (two entries for one user name is a directory error, not a choice)."""
    assert options.user_search_base is not None and options.user_filter is not None
    search_filter = fill_filter(options.user_filter, username=username)
    found = _search(
        conn, options.user_search_base, search_filter, ldap3.SUBTREE, ["1.1"], size_limit=2
    )
    if not found:
        raise LoginRefused("user_not_found")
    if len(found) > 1:
        raise LoginRefused("user_ambiguous")
    return str(found[0]["dn"])


def read_entry(
    conn: ldap3.Connection, options: LdapOptions, dn: str
) -> tuple[str, Mapping[str, list[str]]] | None:
    """The entry's DN as the server writes it and the attributes read; None when this
    connection may not read it."""
    found = _search(conn, dn, "(objectClass=*)", ldap3.BASE, options.attributes, size_limit=1)
    if not found:
        return None
    raw: Mapping[str, Any] = found[0].get("attributes") or {}
    values: dict[str, list[str]] = {}
    for key, value in raw.items():
        items = value if isinstance(value, list) else [value]
        texts = [v if isinstance(v, str) else str(v) for v in items if v not in (None, b"", "")]
        if texts:
            values[key] = texts
    return str(found[0]["dn"]), values


def search_groups(
    conn: ldap3.Connection, options: LdapOptions, dn: str, username: str
) -> list[str]:
    """DNs of the groups `group_filter` finds under `group_search_base`."""
    if options.group_search_base is None:
        return []
    search_filter = fill_filter(options.group_filter, dn=dn, username=username)
    found = _search(
        conn, options.group_search_base, search_filter, ldap3.SUBTREE, ["1.1"], GROUP_LIMIT
    )
    return [str(r["dn"]) for r in found]

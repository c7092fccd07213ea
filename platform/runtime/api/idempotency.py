"""Idempotency keys of API creates (SECURITY R1/R2): one request, one effect.

A POST with `Idempotency-Key` claims the key inside the same transaction that creates the
record and stores the response there too, so a crash leaves neither the record nor the key
behind and a retry creates exactly one record. A replay with the same key and the same
request gets the stored response; the same key with another request is refused; a
concurrent duplicate waits for the first (the key's primary key is locked) and is refused.
A write that calls out to a network (a payment at its provider) holds no transaction across
the call: its key is claimed in a transaction of its own, completed with the response
afterwards and `release`d when the request fails.

Keys are scoped per portal and per caller (user id, or the anonymous session's CSRF secret)
and kept for `KEY_TTL`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa

from portalis.engine.data.tables import utcnow

from ..runtime_tables import runtime_metadata

#: How long a key and its response are kept.
KEY_TTL: Final = timedelta(hours=24)

idempotency_keys = sa.Table(
    "portalis_idempotency_key",
    runtime_metadata,
    sa.Column("portal", sa.String(40), primary_key=True),
    sa.Column("scope", sa.String(80), primary_key=True),  # user:<id> | anon:<sha256>
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),  # sha256 of the request
    sa.Column("status", sa.Integer, nullable=False),  # 0 while the claiming request runs
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("location", sa.String(500), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_portalis_idempotency_key_expires", "expires_at"),
)


class KeyReused(Exception):
    """The key was used before for a different request (→ 422)."""


class KeyInUse(Exception):
    """Another request with the same key is running or just finished (→ 409)."""


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The response given to the first request with a key."""

    status: int
    body: str
    location: str | None = None


def scope_for(user_id: int | None, session_secret: str | None) -> str:
    """The key scope of a caller: the user, or the anonymous browser session."""
    if user_id is not None:
        return f"user:{int(user_id)}"
    digest = hashlib.sha256((session_secret or "").encode()).hexdigest()
    return f"anon:{digest}"


def fingerprint(method: str, path: str, body: Mapping[str, Any]) -> str:
    """A digest of what the request asks for (method, path, canonical JSON body)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


def claim(
    conn: sa.Connection,
    portal: str,
    scope: str,
    key: str,
    request_fingerprint: str,
    *,
    now: datetime | None = None,
) -> StoredResponse | None:
    """Claim `key` inside the caller's transaction; the stored response when it was used.

    Raises KeyReused for the same key with another request and KeyInUse when a concurrent
    request holds it. Returns None when the key is now claimed for this request: the caller
    does the work and then `complete`s it in the same transaction.
    """
    now = now or utcnow()
    table = idempotency_keys
    mine = sa.and_(table.c.portal == portal, table.c.scope == scope)
    conn.execute(table.delete().where(mine, table.c.expires_at < now))
    row = conn.execute(sa.select(table).where(mine, table.c.key == key)).mappings().first()
    if row is not None:
        return _stored(row, request_fingerprint)
    try:
        with conn.begin_nested():
            conn.execute(
                table.insert().values(
                    portal=portal,
                    scope=scope,
                    key=key,
                    fingerprint=request_fingerprint,
                    status=0,
                    body="",
                    created_at=now,
                    expires_at=now + KEY_TTL,
                )
            )
    except sa.exc.IntegrityError as exc:
        raise KeyInUse(key) from exc
    return None


def _stored(row: sa.RowMapping, request_fingerprint: str) -> StoredResponse:
    if row["fingerprint"] != request_fingerprint:
        raise KeyReused(row["key"])
    if not row["status"]:
        raise KeyInUse(row["key"])
    return StoredResponse(int(row["status"]), str(row["body"]), row["location"])


def complete(
    conn: sa.Connection, portal: str, scope: str, key: str, response: StoredResponse
) -> None:
    """Store the response of a claimed key (same transaction as the claim)."""
    table = idempotency_keys
    conn.execute(
        table.update()
        .where(table.c.portal == portal, table.c.scope == scope, table.c.key == key)
        .values(status=response.status, body=response.body, location=response.location)
    )


def release(conn: sa.Connection, portal: str, scope: str, key: str) -> None:
    """Free a key whose request failed before it completed (a key claimed in a transaction
    of its own, see `writes.at_most_once_apart`): a retry may then run again."""
    table = idempotency_keys
    conn.execute(
        table.delete().where(
            table.c.portal == portal,
            table.c.scope == scope,
            table.c.key == key,
            table.c.status == 0,
        )
    )


def purge_expired(conn: sa.Connection, *, now: datetime | None = None) -> int:
    """Delete expired keys of every portal (for a periodic job); returns how many."""
    table = idempotency_keys
    result = conn.execute(table.delete().where(table.c.expires_at < (now or utcnow())))
    return int(result.rowcount or 0)

"""Reconciliation: the stored payments against what each provider lists (`list_payments`).

A difference that matters for money is reported, nothing is changed: a payment the provider
has and the portal does not (`missing_here`), one the portal counts or waits for and the
provider does not list (`missing_there`), and for a payment both know: another amount or
currency, money that moved on one side only (`status`), or other refunds (`refunded`). A
provider listed payment that names another portal's payment, or one of another entry of this
portal (one provider account may serve several), is theirs to reconcile. Providers without a list are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa

from ..data.system_tables import payments
from ..definition.model import PortalModel
from .errors import ProviderFailed
from .provider import ProviderContext, ProviderError, ProviderPayment
from .records import Payment, in_units, payment_of
from .registry import BoundProvider

DifferenceKind = Literal[
    "missing_here", "missing_there", "amount", "currency", "status", "refunded"
]
#: Provider statuses that say the money moved.
_PAID = frozenset({"succeeded", "refunded"})


@dataclass(frozen=True, slots=True)
class Difference:
    """One disagreement between the portal and a provider, in words for staff."""

    kind: DifferenceKind
    provider: str
    reference: str | None
    payment_id: str | None
    ours: str = ""
    theirs: str = ""


def reconcile(
    engine: sa.Engine,
    model: PortalModel,
    providers: Mapping[str, BoundProvider],
    since: datetime,
    context: ProviderContext,
) -> list[Difference]:
    """The differences between the portal's payments created since `since` and what each
    bound provider lists (see the module docstring); ProviderFailed when a provider's list
    cannot be read."""
    found: list[Difference] = []
    for bound in providers.values():
        try:
            listed = bound.provider.list_payments(bound.config, since, context)
            theirs = None if listed is None else list(listed)
        except ProviderError as exc:
            raise ProviderFailed(f"{bound.name}: {exc.message}", retryable=exc.retryable) from exc
        if theirs is None:
            continue
        with engine.connect() as conn:
            ours = _ours(conn, model.slug, bound.name, since)
            ids = [p.payment_id for p in theirs if p.payment_id]
            foreign = _foreign(conn, model.slug, bound.name, ids)
        found.extend(compare(bound.name, ours, [p for p in theirs if p.payment_id not in foreign]))
    return found


def compare(
    provider: str, ours: Iterable[Payment], theirs: Iterable[ProviderPayment]
) -> list[Difference]:
    """The differences between one provider's stored payments and its list."""
    by_reference = {p.reference: p for p in ours if p.reference}
    by_id = {p.id: p for p in ours}
    seen: set[str] = set()
    out: list[Difference] = []
    for their in theirs:
        mine = by_reference.get(their.reference) or by_id.get(their.payment_id or "")
        if mine is None:
            if their.status in (*_PAID, "pending"):
                shown = f"{their.amount} {their.currency} {their.status}"
                out.append(Difference("missing_here", provider, their.reference,
                                      their.payment_id, "", shown))  # fmt: skip
            continue
        seen.add(mine.id)
        out.extend(_differences(provider, mine, their))
    for mine in by_id.values():
        if mine.id not in seen and mine.reference and (mine.counted or mine.status == "pending"):
            shown = f"{mine.money} {mine.status}"
            out.append(Difference("missing_there", provider, mine.reference, mine.id, shown))
    return out


def _differences(provider: str, mine: Payment, their: ProviderPayment) -> list[Difference]:
    def diff(kind: DifferenceKind, ours: str, theirs: str) -> Difference:
        return Difference(kind, provider, mine.reference, mine.id, ours, theirs)

    out = []
    currency = their.currency.upper()
    if currency != mine.currency:
        out.append(diff("currency", mine.currency, currency))
    elif in_units(their.amount, currency) != mine.amount:
        out.append(diff("amount", str(mine.money), f"{their.amount} {currency}"))
    if mine.counted != (their.status in _PAID):
        out.append(diff("status", mine.status, their.status))
    elif mine.counted and in_units(their.refunded, mine.currency) != mine.refunded:
        out.append(diff("refunded", str(mine.refunded), str(their.refunded)))
    return out


def _ours(conn: sa.Connection, slug: str, provider: str, since: datetime) -> list[Payment]:
    query = sa.select(payments).where(
        payments.c.portal == slug,
        payments.c.provider == provider,
        payments.c.created_at >= since,
    )
    return [payment_of(row) for row in conn.execute(query).mappings()]


def _foreign(conn: sa.Connection, slug: str, provider: str, ids: list[str]) -> set[str]:
    """Of `ids`, the ids of payments of other portals or other provider entries."""
    wanted = sorted({i[:40] for i in ids})
    if not wanted:
        return set()
    elsewhere = sa.or_(payments.c.portal != slug, payments.c.provider != provider)
    query = sa.select(payments.c.id).where(payments.c.id.in_(wanted), elsewhere)
    return {str(i) for i in conn.execute(query).scalars()}

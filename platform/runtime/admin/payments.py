"""/admin/payments: the portal's online payments, for the users of `auth.admin_roles`.

Newest first, 50 a page, filtered by status and provider entry. A flagged payment (an event
disagreed on amount or currency: never counted as paid) is marked with its reason. Each row
names its record — with the title the administrator may read, linked to the first page that
shows the entity when they may open it and read such records — and the chart "Payments per
day and method" (`payment_chart`) sums up the last 30 days. A page costs one query for the
payments, one for the provider names they use, one per entity for the titles and one for
the chart — never one per payment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import g, request

from portalis.engine.data.permissions import Actor
from portalis.engine.payments.records import Payment

from ..auth.common import ViewResult, render
from ..context import state
from ..display import page_for
from ..payments.labels import method_label, status_label
from ..payments.listing import STATUSES, PaymentFilter, find_payments, stored_providers
from ..registry import RuntimePortal
from ..request_db import read_connection
from ..templating import label
from ..urls import record_urls
from .access import admin_gate
from .payment_chart import daily_charts
from .users import page_number

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """One payment as the page shows it."""

    payment: Payment
    status: str
    provider: str
    method: str
    record: str
    url: str | None


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of payments, the filters that chose them and what the pager needs."""

    rows: list[PaymentRow]
    page: int
    has_next: bool
    status: str
    provider: str

    @property
    def query(self) -> dict[str, str | None]:
        """The filters as query parameters (for the pager's links)."""
        return {"status": self.status or None, "provider": self.provider or None}


def provider_choices(portal: RuntimePortal, stored: list[str]) -> list[tuple[str, str]]:
    """(name, label) of the definition's provider entries, then of entries only stored
    payments still name (a provider removed from the definition)."""
    entries = portal.compiled.model.payment_providers
    found = [(e.name, label(e.label, e.name)) for e in entries]
    known = {name for name, _ in found}
    return found + [(name, name) for name in stored if name not in known]


def _record_links(
    portal: RuntimePortal, actor: Actor, found: list[Payment]
) -> Callable[[Payment], tuple[str, str | None]]:
    """How each payment's record is named and linked: the entity's label and the title the
    actor may read (one query per entity), and the entity's detail page when the actor may
    open it and read such records."""
    model = portal.compiled.model
    ids: dict[str, list[int]] = defaultdict(list)
    for payment in found:
        if payment.entity in model.entities:
            ids[payment.entity].append(payment.record_id)
    titles = {name: portal.store.titles(actor, name, wanted) for name, wanted in ids.items()}
    urls: dict[str, Callable[[int], str] | None] = {}
    for name in ids:
        page = page_for(portal, actor, "detail", name)
        readable = portal.store.policy.grants_for(actor, name, "read")
        urls[name] = record_urls(page.name) if page is not None and readable else None

    def named(payment: Payment) -> tuple[str, str | None]:
        entity = model.entities.get(payment.entity)
        kind = label(entity.label, entity.name) if entity is not None else payment.entity
        title = titles.get(payment.entity, {}).get(payment.record_id)
        text = f"{kind} {title}" if title else f"{kind} #{payment.record_id}"
        link = urls.get(payment.entity)
        return text, link(payment.record_id) if link is not None else None

    return named


def list_payments(
    portal: RuntimePortal, actor: Actor, where: PaymentFilter, page: int
) -> tuple[Listing, list[tuple[str, str]]]:
    """One page of the portal's payments matching `where`, and the provider choices."""
    with read_connection(state().engine) as conn:
        found = find_payments(conn, portal.slug, where, offset=(page - 1) * PAGE_SIZE,
                              limit=PAGE_SIZE + 1)  # fmt: skip
        stored = stored_providers(conn, portal.slug)
    shown = found[:PAGE_SIZE]
    choices = provider_choices(portal, stored)
    providers = dict(choices)
    named = _record_links(portal, actor, shown)
    rows = []
    for payment in shown:
        record, url = named(payment)
        rows.append(
            PaymentRow(
                payment,
                status_label(payment.status),
                providers.get(payment.provider, payment.provider),
                method_label(payment.method) or "—",
                record,
                url,
            )
        )
    listing = Listing(rows, page, len(found) > PAGE_SIZE, where.status or "",
                      where.provider or "")  # fmt: skip
    return listing, choices


def payments_view(portal: RuntimePortal, actor: Actor) -> ViewResult:
    """GET: the payments (`status`, `provider`, `page`) and the chart of the last 30 days."""
    gate = admin_gate(portal, actor)
    if gate is not None:
        return gate
    status = request.args.get("status", "")
    where = PaymentFilter(
        status=status if status in STATUSES else None,
        provider=request.args.get("provider", "")[:40] or None,
    )
    listing, choices = list_payments(portal, actor, where, page_number(request.args.get("page")))
    locale = str(g.get("locale") or portal.compiled.model.default_locale)
    return render(
        "admin/payments.html",
        listing=listing,
        statuses=[(s, status_label(s)) for s in STATUSES],
        providers=choices,
        charts=daily_charts(portal, locale, datetime.now(UTC).date()),
    )

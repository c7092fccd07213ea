"""Paying invoices of the starter blueprint over HTTP: the payments block, the provider's
events endpoint and a payment's page (SQLite and PostgreSQL).

The sandbox provider signs events with the installation's derived key; the tests sign theirs
the same way, post them as the provider would (no session, no CSRF token) and check what the
endpoint answers and what it stored — exactly once, never on a bad signature (SECURITY R3,
ASVS 8.2.2 for the pages of another account's payments)."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from portalis_payments_sandbox import EventData, event_body, sign

from portalis.engine.data.permissions import Actor
from portalis.engine.data.system_tables import audit, payment_events, payments
from portalis.engine.definition.fieldtypes.money import Money
from portalis.runtime.payments.setup import provider_context
from portalis.testing.web import PortalClient, WebPortal

EVENTS = "/_payments/sandbox/events"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance")
    yield portal
    portal.close()


def invoice(web: WebPortal, account: str, subject: str) -> int:
    accounts = {r["name"]: r.id for r in web.store.list(Actor.system(), "account").records}
    found = web.store.list(Actor.system(), "invoice", page_size=50).records
    return next(
        r.id for r in found if r["account"] == accounts[account] and r["subject"] == subject
    )


def block(web: WebPortal) -> str:
    page = web.compiled.model.pages["invoice"]
    return str(next(b.index for b in page.blocks if b.type == "payments"))


def pay(web: WebPortal, browser: PortalClient, record: int, **form: str) -> Any:
    return browser.post(f"/invoices/{record}", {"_block": block(web), "op": "pay", **form})


def started(web: WebPortal, record: int) -> dict[str, Any]:
    with web.engine.connect() as conn:
        row = conn.execute(
            sa.select(payments).where(payments.c.record_id == record, payments.c.entity == "invoice")
            .order_by(payments.c.created_at.desc())
        ).mappings().first()  # fmt: skip
    assert row is not None
    return dict(row)


def key(web: WebPortal) -> str:
    with web.app.app_context():
        return provider_context().derive_key("payments-sandbox")


def approve(browser: PortalClient, payment: dict[str, Any]) -> str:
    """Approve the payment on the sandbox's hosted page, as the payer; the transaction id the
    sandbox gave it (what its event carries, and what a refund names)."""
    page = browser.client.get(
        urlsplit(payment["checkout_url"])._replace(scheme="", netloc="").geturl()
    )
    assert page.status_code == 200, page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert action is not None and token is not None
    done = browser.client.post(html.unescape(action.group(1)),
                               data={"csrf_token": token.group(1), "choice": "approve"})  # fmt: skip
    assert done.status_code == 303, done.text
    with browser.app.extensions["portalis"].engine.connect() as conn:
        checkouts = sa.Table("portalis_sandbox_checkout", sa.MetaData(), autoload_with=conn)
        found = conn.execute(
            sa.select(checkouts.c.transaction).where(checkouts.c.id == payment["reference"])
        ).scalar_one()
    assert found
    return str(found)


def event(payment: dict[str, Any], kind: str = "succeeded", **changes: Any) -> EventData:
    values: dict[str, Any] = {
        "event_id": f"evt_{payment['id']}_{kind}", "kind": kind, "created": int(time.time()),
        "payment_id": payment["id"], "checkout": payment["reference"],
        "amount": Decimal(payment["amount"]).quantize(Decimal("0.01")),
        "currency": payment["currency"], "method": "card", "transaction": "tr_" + payment["id"],
    }  # fmt: skip
    values.update(changes)
    return EventData(**values)


def post_event(web: WebPortal, data: EventData, *, secret: str | None = None, at: int | None = None,
               body: bytes | None = None) -> Any:  # fmt: skip
    raw = body if body is not None else event_body(data)
    headers = sign(secret or key(web), raw, at if at is not None else data.created)
    client = web.app.test_client()  # the provider: no session, no CSRF token
    return client.post(f"/{web.slug}{EVENTS}", data=raw, headers=headers)


def stored_events(web: WebPortal) -> int:
    with web.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(payment_events)).scalar_one()


def values(web: WebPortal, record: int) -> tuple[str, Money, Money]:
    row = web.store.get(Actor.system(), "invoice", record)
    return str(row["status"]), row["paid_online"], row["open_amount"]


def test_r3_a_signed_event_pays_the_invoice_once_and_a_replay_changes_nothing(
    web: WebPortal,
) -> None:
    ben = web.client("ben@acme.test")
    record = invoice(web, "Acme GmbH", "Support plan Q1")
    answer = pay(web, ben, record)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/checkout")
    payment = started(web, record)
    assert payment["status"] == "open" and payment["amount"] == Decimal("129")
    # the checkout step sends the payer to the provider's page from a page of the portal
    step = ben.get(answer.headers["Location"].split(f"/{web.slug}", 1)[1])
    assert step.status_code == 200 and 'http-equiv="refresh"' in step.text
    assert payment["checkout_url"] in step.text.replace("&amp;", "&")
    # back from the provider before the event: the page says so, and asks again
    page = ben.get(f"/_payments/{payment['id']}")
    assert page.status_code == 200 and "Waiting for payment" in page.text
    assert 'data-poll="' in page.text
    first = post_event(web, event(payment))
    assert first.status_code == 200
    assert first.json == {"result": "applied", "payment": payment["id"], "status": "succeeded"}
    assert values(web, record) == (
        "paid",
        Money(Decimal("129.00"), "EUR"),
        Money(Decimal("0.00"), "EUR"),
    )
    again = post_event(web, event(payment))
    assert again.status_code == 200 and again.json["result"] == "duplicate"
    assert values(web, record)[1] == Money(Decimal("129.00"), "EUR")
    assert stored_events(web) == 1
    page = ben.get(f"/_payments/{payment['id']}?part=status")
    assert "Paid" in page.text and "data-poll" not in page.text
    with web.engine.connect() as conn:
        actions = list(conn.execute(
            sa.select(audit.c.action).where(audit.c.entity == "invoice", audit.c.record_id == record)
        ).scalars())  # fmt: skip
    assert actions.count("payment_succeeded") == 1 and "payment_start" in actions


def test_r3_an_event_that_does_not_verify_is_400_and_stores_nothing(web: WebPortal) -> None:
    ben = web.client("ben@acme.test")
    record = invoice(web, "Acme GmbH", "Support plan Q1")
    pay(web, ben, record)
    data = event(started(web, record))
    good = event_body(data)
    now = int(time.time())
    client = web.app.test_client()
    url = f"/{web.slug}{EVENTS}"
    answers = {
        "wrong key": post_event(web, data, secret="another-installation-" + "k" * 32),
        "tampered body": client.post(
            url, data=good.replace(b"129.00", b"1.00"), headers=sign(key(web), good, now)
        ),
        "stale": post_event(web, data, at=now - 3600),
        "future": post_event(web, data, at=now + 3600),
        "no signature": client.post(url, data=good, headers={"Content-Type": "application/json"}),
    }
    for spoil, answer in answers.items():
        assert answer.status_code == 400, spoil
        assert answer.headers["Content-Type"] == "application/problem+json", spoil
        assert json.loads(answer.data)["code"] == "event-rejected", spoil
    assert stored_events(web) == 0
    assert values(web, record)[0] == "open"


def test_an_unknown_provider_is_404_and_events_take_no_get(web: WebPortal) -> None:
    client = web.app.test_client()
    assert client.post(f"/{web.slug}/_payments/stripe/events", data=b"{}").status_code == 404
    assert client.get(f"/{web.slug}{EVENTS}").status_code == 405


def test_r3_a_wrong_amount_flags_the_payment_and_leaves_the_invoice_open(web: WebPortal) -> None:
    ben = web.client("ben@acme.test")
    record = invoice(web, "Acme GmbH", "Support plan Q1")
    pay(web, ben, record)
    payment = started(web, record)
    answer = post_event(web, event(payment, amount=Decimal("1.00")))
    assert answer.status_code == 200 and answer.json["result"] == "flagged"
    assert started(web, record)["status"] == "flagged"
    assert values(web, record)[0] == "open"
    page = ben.get(f"/_payments/{payment['id']}")
    assert "Needs review" in page.text


def test_a_partial_payment_then_the_rest_and_the_refund_reopens(web: WebPortal) -> None:
    ben = web.client("ben@acme.test")
    record = invoice(web, "Acme GmbH", "On-site training")
    refused = pay(web, ben, record, amount="5")
    assert refused.status_code == 422 and "at least €10.00" in refused.text
    refused = pay(web, ben, record, amount="500")
    assert refused.status_code == 422 and "at most" in refused.text
    refused = pay(web, ben, record, amount="ten")
    assert refused.status_code == 422 and "Enter an amount like 12.50." in refused.text
    assert pay(web, ben, record, amount="80.00").status_code == 303
    post_event(web, event(started(web, record)))
    assert values(web, record)[0] == "open"
    assert values(web, record)[2] == Money(Decimal("400.00"), "EUR")
    page = ben.get(f"/invoices/{record}")
    assert "€400.00" in page.text and "Refund now" not in page.text  # customers do not refund
    assert pay(web, ben, record).status_code == 303  # all that is left
    last = started(web, record)
    post_event(web, event(last, transaction=approve(ben, last)))
    assert values(web, record)[0] == "paid"
    sam = web.client("sam@support.test")
    answer = sam.post(f"/invoices/{record}", {"_block": block(web), "op": "refund",
                                              "payment": last["id"], "amount": "50",
                                              "reason": "goodwill"})  # fmt: skip
    assert answer.status_code == 303
    assert values(web, record)[0] == "open"  # the refund opened €50 again: reopened
    assert values(web, record)[2] == Money(Decimal("50.00"), "EUR")
    assert started(web, record)["status"] == "partially_refunded"
    assert "€50.00 refunded" in sam.get(f"/invoices/{record}").text


def test_nothing_open_is_409_and_the_form_is_gone(web: WebPortal) -> None:
    ben = web.client("ben@acme.test")
    record = invoice(web, "Acme GmbH", "Support plan Q1")
    pay(web, ben, record)
    post_event(web, event(started(web, record)))
    page = ben.get(f"/invoices/{record}")
    assert "Nothing is open to pay." in page.text and 'value="pay"' not in page.text
    answer = pay(web, ben, record)
    assert answer.status_code == 409 and "nothing is open to pay" in answer.text.lower()


def test_asvs_8_2_2_another_accounts_invoice_and_payments_do_not_exist(web: WebPortal) -> None:
    ben, nina = web.client("ben@acme.test"), web.client("nina@globex.test")
    record = invoice(web, "Acme GmbH", "Support plan Q1")
    pay(web, ben, record)
    payment = started(web, record)
    assert pay(web, nina, record).status_code == 404
    for path in (f"/_payments/{payment['id']}", f"/_payments/{payment['id']}/checkout",
                 f"/_payments/{payment['id']}?part=status", f"/invoices/{record}"):  # fmt: skip
        assert nina.get(path).status_code == 404, path
    refund = nina.post(f"/invoices/{record}", {"_block": block(web), "op": "refund",
                                               "payment": payment["id"]})  # fmt: skip
    assert refund.status_code == 404
    # the agent reads the payment, but is not its payer: no way on to the checkout
    sam = web.client("sam@support.test")
    onward = sam.get(f"/_payments/{payment['id']}/checkout")
    assert onward.status_code == 303 and onward.headers["Location"].endswith(payment["id"])
    # signed out: the payment's page asks to sign in first
    assert web.client().get(f"/_payments/{payment['id']}").status_code == 302

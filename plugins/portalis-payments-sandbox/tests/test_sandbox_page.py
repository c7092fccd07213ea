"""The hosted test checkout through a real application (the shop portal deployed on SQLite
and PostgreSQL, the Flask test client as the payer's browser) with the portal's events
endpoint played by a real HTTP server on 127.0.0.1: every event the page sends is verified
with `parse_event`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from portalis_payments_sandbox.pages import deliveries_of
from portalis_payments_sandbox.tables import checkouts
from sandbox_support import CONFIG, PROVIDER, RETURN_URL, Payer, context, events, request_for, text

from portalis.api import Checkout
from portalis.testing.web import WebPortal
from portalis.testing.webhooks import Reply, WebhookReceiver


def start(shop: WebPortal, receiver: WebhookReceiver, **options: str) -> Payer:
    """A checkout made by the provider (as the core makes it) and a payer on its page."""
    checkout = PROVIDER.create_checkout(
        CONFIG, request_for(receiver.url("/events"), **options), context(shop.engine)
    )
    payer = Payer(shop.app, checkout)
    assert payer.open().status_code == 200
    return payer


def stored(shop: WebPortal, checkout: Checkout) -> dict[str, object]:
    with shop.engine.connect() as conn:
        query = sa.select(checkouts).where(checkouts.c.id == checkout.reference)
        return dict(conn.execute(query).mappings().one())


def settled(shop: WebPortal, payer: Payer) -> None:
    """No event is on its way (for tests that check none was sent)."""
    assert deliveries_of(shop.app).wait(15)


def test_page_shows_the_checkout(shop: WebPortal, receiver: WebhookReceiver) -> None:
    payer = start(shop, receiver, amount="1234.50", currency="EUR")
    page = text(payer.page)  # type: ignore[arg-type]
    assert "Sandbox payment — no real money" in page
    assert "Invoice INV-2026-00017" in page
    assert "€1,234.50" in page
    for choice in ("Approve", "Decline", "Approve with a verification step",
                   "Approve and settle later", "Cancel and return"):  # fmt: skip
        assert f">{choice}</button>" in page
    assert payer.page.headers["Cache-Control"] == "no-store"  # type: ignore[union-attr]
    assert "unsafe-inline" not in payer.page.headers["Content-Security-Policy"]  # type: ignore[union-attr]


def test_page_speaks_the_payers_language(shop: WebPortal, receiver: WebhookReceiver) -> None:
    payer = start(shop, receiver, amount="1234.50", currency="EUR", locale="de")
    page = text(payer.page)  # type: ignore[arg-type]
    assert 'lang="de"' in page
    assert "Testzahlung — kein echtes Geld" in page
    assert "1.234,50\xa0€" in page
    assert ">Genehmigen</button>" in page


def test_approve(shop: WebPortal, receiver: WebhookReceiver) -> None:
    payer = start(shop, receiver)
    answer = payer.choose("approve")
    assert answer.status_code == 303 and answer.headers["Location"] == RETURN_URL
    [event] = events(shop.app, receiver, 1)
    row = stored(shop, payer.checkout)
    assert (event.kind, event.payment_id, event.reference) == (
        "succeeded", "pay_test", payer.checkout.reference
    )  # fmt: skip
    assert (event.amount, event.currency, event.method) == (Decimal("12.50"), "EUR", "card")
    assert event.transaction == row["transaction"] and str(row["transaction"]).startswith("tr_")
    assert row["status"] == "succeeded"
    assert abs(event.occurred_at - datetime.now(UTC)) < timedelta(seconds=30)


def test_a_finished_checkout_shows_its_state(shop: WebPortal, receiver: WebhookReceiver) -> None:
    """A second submit (double click, back button, another tab) changes nothing and sends
    nothing: the page says what happened."""
    payer = start(shop, receiver)
    stale_page = payer.page
    assert payer.choose("approve").status_code == 303
    events(shop.app, receiver, 1)
    payer.page = stale_page  # the back button: the old form again
    again = payer.choose("decline")
    assert again.status_code == 200
    assert "You approved the payment." in text(again)
    assert RETURN_URL in text(again)
    assert text(payer.open()).count("You approved the payment.") == 1
    settled(shop, payer)
    assert len(receiver.to("/events")) == 1
    assert stored(shop, payer.checkout)["status"] == "succeeded"


def test_decline(shop: WebPortal, receiver: WebhookReceiver) -> None:
    payer = start(shop, receiver)
    assert payer.choose("decline").headers["Location"] == RETURN_URL
    [event] = events(shop.app, receiver, 1)
    assert (event.kind, event.reason, event.transaction) == ("failed", "card_declined", None)
    assert event.amount == Decimal("12.50")
    assert stored(shop, payer.checkout)["status"] == "failed"


def test_verification_step(shop: WebPortal, receiver: WebhookReceiver) -> None:
    payer = start(shop, receiver)
    answer = payer.choose("verify")
    assert answer.status_code == 303  # to the code step, on the checkout's own page
    assert payer.open().status_code == 200
    page = text(payer.page)  # type: ignore[arg-type]
    assert "Verification code" in page and "1234" in page
    assert stored(shop, payer.checkout)["status"] == "verifying"

    wrong = payer.post(0, code="0000")
    assert wrong.status_code == 422
    body = wrong.get_data(as_text=True)
    assert 'aria-invalid="true"' in body
    assert 'aria-describedby="sandbox-code-help sandbox-code-error"' in body
    assert 'id="sandbox-code-error">That code is not right.' in body
    settled(shop, payer)
    assert receiver.to("/events") == []

    right = payer.post(0, code=" 1234 ")
    assert right.status_code == 303 and right.headers["Location"] == RETURN_URL
    [event] = events(shop.app, receiver, 1)
    assert (event.kind, event.method) == ("succeeded", "card")
    assert stored(shop, payer.checkout)["status"] == "succeeded"


def test_settle_later(shop: WebPortal, receiver: WebhookReceiver) -> None:
    """`pending` at once, `succeeded` after `settle_after_seconds` (1 s here) from the
    timer the choice started — with no further request."""
    payer = start(shop, receiver)
    chosen = time.monotonic()
    assert payer.choose("later").headers["Location"] == RETURN_URL
    pending, succeeded = events(shop.app, receiver, 2)
    assert time.monotonic() - chosen >= CONFIG.settle_after_seconds
    assert (pending.kind, pending.method) == ("pending", "sepa_debit")
    assert (succeeded.kind, succeeded.transaction) == ("succeeded", pending.transaction)
    assert pending.event_id != succeeded.event_id
    assert succeeded.occurred_at >= pending.occurred_at
    assert stored(shop, payer.checkout)["status"] == "succeeded"


def test_settlement_lost_with_its_process_is_made_up_by_the_next_request(
    shop: WebPortal, receiver: WebhookReceiver
) -> None:
    """The timer is gone (a restart): the next request to the sandbox page settles what is
    due, once — a second request sends nothing more."""
    payer = start(shop, receiver)
    assert payer.choose("later").status_code == 303
    deliveries_of(shop.app).cancel_timers()
    [pending] = events(shop.app, receiver, 1)
    assert pending.kind == "pending" and stored(shop, payer.checkout)["status"] == "pending"
    with shop.engine.begin() as conn:
        past = datetime.now(UTC) - timedelta(seconds=1)
        update = checkouts.update().where(checkouts.c.id == payer.checkout.reference)
        conn.execute(update.values(settle_at=past))

    other = start(shop, receiver)  # any request to the page sweeps
    _, succeeded = events(shop.app, receiver, 2)
    assert (succeeded.kind, succeeded.reference) == ("succeeded", payer.checkout.reference)
    assert other.open().status_code == 200
    settled(shop, payer)
    assert len(receiver.to("/events")) == 2


def test_cancel(shop: WebPortal, receiver: WebhookReceiver) -> None:
    payer = start(shop, receiver)
    assert payer.choose("cancel").headers["Location"] == RETURN_URL
    [event] = events(shop.app, receiver, 1)
    assert (event.kind, event.reason, event.amount) == (
        "canceled",
        "canceled_by_payer",
        Decimal("12.50"),
    )
    assert stored(shop, payer.checkout)["status"] == "canceled"


def test_cancel_from_the_verification_step(shop: WebPortal, receiver: WebhookReceiver) -> None:
    payer = start(shop, receiver)
    payer.choose("verify")
    payer.open()
    answer = payer.post(1, choice="cancel")
    assert answer.headers["Location"] == RETURN_URL
    [event] = events(shop.app, receiver, 1)
    assert event.kind == "canceled"


def test_delivery_is_retried_after_a_server_error(
    shop: WebPortal, receiver: WebhookReceiver
) -> None:
    """A 503 and then a 200: the same event twice, each signed when it was sent."""
    receiver.reply("/events", Reply(503), Reply(200))
    payer = start(shop, receiver)
    assert payer.choose("approve").status_code == 303
    first, second = events(shop.app, receiver, 2)
    assert first == second
    assert [r.status for r in receiver.to("/events")] == [503, 200]


def test_a_refused_delivery_is_not_retried(shop: WebPortal, receiver: WebhookReceiver) -> None:
    receiver.reply("/events", Reply(400))
    payer = start(shop, receiver)
    assert payer.choose("approve").status_code == 303
    events(shop.app, receiver, 1)
    settled(shop, payer)
    assert [r.status for r in receiver.to("/events")] == [400]


def test_wrong_links_are_not_found(shop: WebPortal, receiver: WebhookReceiver) -> None:
    payer = start(shop, receiver)
    link = payer.checkout.redirect_url
    base = link.split("?", 1)[0]
    client = shop.app.test_client()
    assert client.get(base).status_code == 404  # the checkout id alone opens nothing
    assert client.get(base + "?link=" + "0" * 32).status_code == 404
    assert client.get("/_sandbox-pay/cs_unknown" + link[len(base) :]).status_code == 404
    assert client.get("/_sandbox-pay/" + "x" * 200 + "?link=0").status_code == 404


def test_asvs_3_5_every_post_route_refuses_a_form_without_csrf_token(
    shop: WebPortal, receiver: WebhookReceiver
) -> None:
    """Every POST route of the blueprint (read from the URL map: a later route is covered
    too), on a checkout in the code step: no token, or a forged one → 400, nothing changes."""
    payer = start(shop, receiver)
    assert payer.choose("verify").status_code == 303
    link = payer.checkout.redirect_url.split("?", 1)[1]
    rules = [
        rule
        for rule in shop.app.url_map.iter_rules()
        if rule.endpoint.startswith("sandbox_pay.") and "POST" in (rule.methods or ())
    ]
    assert {rule.endpoint for rule in rules} == {"sandbox_pay.choose", "sandbox_pay.verify"}
    for rule in rules:
        path = rule.rule.replace("<checkout_id>", payer.checkout.reference) + "?" + link
        for token in ({}, {"csrf_token": "forged"}):
            form = {"choice": "approve", "code": "1234", **token}
            assert payer.client.post(path, data=form).status_code == 400, path
    assert stored(shop, payer.checkout)["status"] == "verifying"
    settled(shop, payer)
    assert receiver.to("/events") == []


def test_unknown_choice_is_a_bad_request(shop: WebPortal, receiver: WebhookReceiver) -> None:
    payer = start(shop, receiver)
    assert payer.choose("steal").status_code == 400
    assert stored(shop, payer.checkout)["status"] == "open"

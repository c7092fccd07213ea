"""The payment API: `POST /api/v1/<entity>/<id>/pay`, `GET …/payments` and
`POST …/payments/<payment>/refunds` on a served portal that pays through the sandbox provider
(SECURITY A.21 IDOR, A.23 direct API calls, A.25 CSRF, R2 Idempotency-Key)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from portalis_payments_sandbox.section import SANDBOX_SECTION
from portalis_payments_sandbox.tables import checkouts
from test_api_support import assert_problem
from test_payments_support import EVENTS, SLUG, Billing, payment_operations, serve

from portalis.api import DefinitionSection, hookimpl
from portalis.engine.data import audit
from portalis.engine.data.system_tables import payment_refunds, payments
from portalis.runtime import default_plugins
from portalis.runtime.api import idempotency
from portalis.runtime.api.payment_paths import amount_pattern


@pytest.fixture
def billing(database_url: str, tmp_path: Path) -> Iterator[Billing]:
    with serve(database_url, tmp_path / "instance") as served:
        yield served


def started(
    billing: Billing, record: int, body: dict[str, Any] | None = None, entity: str = "invoice"
) -> dict[str, Any]:
    """Ann starts paying a record; the 201 body."""
    response = billing.client("ann@acme.test").post(f"/{entity}/{record}/pay", body or {})
    assert response.status_code == 201, response.text
    return dict(response.json)


def paid(billing: Billing, record: int, amount: str) -> dict[str, Any]:
    """Ann pays `amount` of an invoice at the sandbox; the succeeded event is applied."""
    payment = started(billing, record, {"amount": amount})
    before = len(billing.hooks.to(EVENTS))
    billing.approve(payment["redirect_url"])
    outcome = billing.deliver(before + 1)[-1]  # the earlier ones are duplicates now
    assert (outcome.result, outcome.status) == ("applied", "succeeded"), outcome
    return payment


def test_pay_starts_a_sandbox_checkout(billing: Billing) -> None:
    invoice = billing.invoice("INV-1")
    ann = billing.client("ann@acme.test")
    response = ann.post(f"/invoice/{invoice}/pay?lang=de", {})
    assert response.status_code == 201, response.text
    body = response.json
    assert body["id"].startswith("pay_") and body["status"] == "open"
    # the whole open amount, as decimal text with its currency
    assert (body["amount"], body["currency"], body["refunded"]) == ("120.00", "EUR", "0.00")
    assert body["provider"] == "sandbox" and body["refunds"] == []
    assert response.headers["Location"] == f"/{SLUG}/_payments/{body['id']}"
    assert body["redirect_url"].startswith(f"{billing.base}/_sandbox-pay/cs_")
    # the provider's references are for staff
    assert body["reference"] is None and body["transaction"] is None
    [row] = billing.rows(payments, id=body["id"])
    assert (row["portal"], row["entity"], row["record_id"]) == (SLUG, "invoice", invoice)
    assert row["created_by"] == billing.web.record_id("user", email="ann@acme.test")
    assert row["amount"] == Decimal("120.00") and row["status"] == "open"
    [checkout] = billing.rows(checkouts, payment_id=body["id"])
    assert row["reference"] == checkout["id"]
    # the provider sends the payer back to the portal's page of the payment and posts its
    # events to the portal; the payer reads its page in their language
    assert checkout["return_url"] == f"{billing.base}/{SLUG}/_payments/{body['id']}"
    assert checkout["events_url"] == f"{billing.base}/{SLUG}/_payments/sandbox/events"
    assert checkout["locale"] == "de" and checkout["description"] == "Invoice INV-1"
    assert checkout["amount"] == Decimal("120.00")
    with billing.web.engine.connect() as conn:
        history = audit.history(conn, portal=SLUG, entity="invoice", record_id=invoice)
    assert "payment_start" in [entry.action for entry in history]
    # the hosted page shows it; the record is not paid before the provider says so
    page = billing.web.app.test_client().get(body["redirect_url"].removeprefix(billing.base))
    assert page.status_code == 200 and "120" in page.text
    assert billing.seen("invoice", invoice)["paid_online"].amount == 0
    listed = ann.get(f"/invoice/{invoice}/payments")
    assert [p["id"] for p in listed.json["items"]] == [body["id"]]


def test_pay_amount_rules(billing: Billing) -> None:
    ann = billing.client("ann@acme.test")
    invoice, order = billing.invoice("INV-1"), billing.record("order", "reference", "ORD-1")
    path = f"/invoice/{invoice}/pay"
    # a part of an invoice: at least the minimum of 10, at most what is open
    assert started(billing, invoice, {"amount": "10.00"})["amount"] == "10.00"
    assert started(billing, invoice, {"amount": "10.5", "provider": "sandbox"})["amount"] == "10.50"
    refused = {
        "9.99": "min", "120.01": "max", "12.345": "places", "0": "min", "0.00": "min",
        "-5": "format", "1e3": "format", "012.00": "format", " 12": "format", "": "format",
    }  # fmt: skip
    for amount, code in refused.items():
        problem = assert_problem(ann.post(path, {"amount": amount}), 422, "invalid")
        assert problem["errors"]["amount"][0]["code"] == code, (amount, problem)
    for amount in (12.5, 12, True, ["12"], {"amount": "12"}):
        problem = assert_problem(ann.post(path, {"amount": amount}), 422, "invalid")
        assert problem["errors"]["amount"][0]["code"] == "type", amount
    problem = assert_problem(ann.post(path, {"provider": "stripe"}), 422, "invalid")
    assert problem["errors"]["provider"][0]["code"] == "choice"
    problem = assert_problem(ann.post(path, {"provider": 1}), 422, "invalid")
    assert problem["errors"]["provider"][0]["code"] == "type"
    problem = assert_problem(ann.post(path, {"amount": "20", "status": "paid"}), 422, "invalid")
    assert problem["errors"] == {"status": [{"code": "unknown-field", "message": "unknown field"}]}
    # an order is paid as a whole only
    problem = assert_problem(ann.post(f"/order/{order}/pay", {"amount": "20"}), 422, "invalid")
    assert problem["errors"]["amount"][0]["code"] == "whole"
    assert started(billing, order, {"amount": "45.00"}, "order")["amount"] == "45.00"
    # bodies that are no JSON object
    assert_problem(ann.post(path, data="amount=12", content_type="text/plain"), 415)
    response = ann.browser.client.post(
        ann.browser.url(f"/api/v1{path}"), data="{", content_type="application/json",
        headers={"X-CSRF-Token": ann.browser.csrf},
    )  # fmt: skip
    assert_problem(response, 400, "malformed-json")
    assert_problem(ann.post(path, ["12"]), 400, "malformed-json")
    # the session's CSRF token in the header, as every API write
    response = ann.browser.client.post(ann.browser.url(f"/api/v1{path}"), json={})
    assert_problem(response, 403, "csrf")
    assert len(billing.rows(payments)) == 3


def test_pay_nothing_open_is_409(billing: Billing) -> None:
    ann = billing.client("ann@acme.test")
    invoice = billing.invoice("INV-3")  # its total is 0.00
    problem = assert_problem(ann.post(f"/invoice/{invoice}/pay", {}), 409, "nothing-to-pay")
    assert problem["detail"] == "nothing is open to pay"
    assert problem["errors"]["__all__"][0]["code"] == "nothing-to-pay"
    # a paid invoice has nothing open either
    paid_invoice = billing.invoice("INV-2")
    paid(billing, paid_invoice, "80.00")
    assert billing.seen("invoice", paid_invoice)["status"] == "paid"
    assert_problem(ann.post(f"/invoice/{paid_invoice}/pay", {}), 409, "nothing-to-pay")
    assert len(billing.rows(payments)) == 1


def test_refund_after_a_succeeded_payment(billing: Billing) -> None:
    invoice = billing.invoice("INV-1")
    payment = paid(billing, invoice, "50.00")
    seen = billing.seen("invoice", invoice)
    assert (seen["paid_online"].amount, seen["open_amount"].amount) == (50, 70)
    cleo = billing.client("cleo@billing.test")
    refunds = f"/invoice/{invoice}/payments/{payment['id']}/refunds"
    response = cleo.post(refunds, {"amount": "20.00", "reason": "goodwill\nline two"})
    assert response.status_code == 201, response.text
    refund = response.json
    assert refund["id"].startswith("re_") and refund["status"] == "succeeded"
    assert (refund["amount"], refund["currency"], refund["reason"]) == (
        "20.00", "EUR", "goodwill\nline two",
    )  # fmt: skip
    assert refund["created_by"] == billing.web.record_id("user", email="cleo@billing.test")
    [row] = billing.rows(payments, id=payment["id"])
    assert (row["status"], row["refunded"]) == ("partially_refunded", Decimal("20.00"))
    seen = billing.seen("invoice", invoice)
    assert (seen["paid_online"].amount, seen["open_amount"].amount) == (30, 90)
    # staff read the provider's references and the refund's reason; the payer does not
    [listed] = cleo.get(f"/invoice/{invoice}/payments").json["items"]
    assert listed["status"] == "partially_refunded" and listed["refunded"] == "20.00"
    assert listed["transaction"] and listed["reference"]
    assert [r["id"] for r in listed["refunds"]] == [refund["id"]]
    [mine] = billing.client("ann@acme.test").get(f"/invoice/{invoice}/payments").json["items"]
    assert mine["refunds"][0]["amount"] == "20.00"
    assert (mine["transaction"], mine["reference"], mine["refunds"][0]["reason"]) == (
        None, None, None,
    )  # fmt: skip
    # more than is left, more places than the currency has, unknown members: 422
    for body, member, code in (
        ({"amount": "30.01"}, "amount", "max"),
        ({"amount": "1.001"}, "amount", "places"),
        ({"reason": 5}, "reason", "type"),
        ({"reason": "x" * 501}, "reason", "too-long"),
        ({"reason": "bad\x00"}, "reason", "format"),
        ({"payment": "x"}, "payment", "unknown-field"),
    ):
        problem = assert_problem(cleo.post(refunds, body), 422, "invalid")
        assert problem["errors"][member][0]["code"] == code, (body, problem)
    # a refund is a state change: the session's CSRF token is needed
    response = cleo.browser.client.post(cleo.browser.url(f"/api/v1{refunds}"), json={})
    assert_problem(response, 403, "csrf")
    # the rest (default: all that is left), then nothing is left
    rest = cleo.post(refunds, {})
    assert rest.status_code == 201 and rest.json["amount"] == "30.00"
    assert billing.rows(payments, id=payment["id"])[0]["status"] == "refunded"
    problem = assert_problem(cleo.post(refunds, {}), 409, "refund-refused")
    assert problem["errors"]["__all__"][0]["code"] == "refunded"
    # a payment that is not paid is not refunded
    unpaid = started(billing, invoice, {"amount": "10.00"})
    path = f"/invoice/{invoice}/payments/{unpaid['id']}/refunds"
    assert_problem(cleo.post(path, {}), 409, "refund-refused")
    assert len(billing.rows(payment_refunds)) == 2


def test_asvs_8_2_2_idor_payments(billing: Billing) -> None:
    invoice, theirs = billing.invoice("INV-1"), billing.invoice("INV-G1")
    payment = paid(billing, invoice, "20.00")
    foreign = billing.rows(payments, id=payment["id"])
    before = billing.counts()
    pay, listing = f"/invoice/{invoice}/pay", f"/invoice/{invoice}/payments"
    refund = f"{listing}/{payment['id']}/refunds"
    # a customer of another account: the record does not exist for them
    gus = billing.client("gus@globex.test")
    for response in (gus.post(pay, {}), gus.get(listing), gus.post(refund, {})):
        body = assert_problem(response, 404, "not-found")
        assert payment["id"] not in str(body)
    # … not under their own invoice's path either (they may not refund at all: 403)
    assert_problem(gus.post(f"/invoice/{theirs}/payments/{payment['id']}/refunds", {}), 403)
    # a reader of the invoice without `pay`: 403, the list is theirs to read
    vic = billing.client("vic@acme.test")
    assert_problem(vic.post(pay, {}), 403, "forbidden")
    assert vic.get(listing).json["items"][0]["id"] == payment["id"]
    assert_problem(vic.post(refund, {}), 403, "forbidden")
    # the payer may not refund (a direct API call to a button they never see)
    assert_problem(billing.client("ann@acme.test").post(refund, {}), 403, "forbidden")
    # staff who may refund every invoice: a payment under another record's path is unknown
    tom = billing.client("tom@billing.test")
    assert_problem(tom.post(f"/invoice/{theirs}/payments/{payment['id']}/refunds", {}), 404)
    assert_problem(tom.post(f"{listing}/pay_{'x' * 24}/refunds", {}), 404)
    assert_problem(tom.post(f"{listing}/{payment['id']}{'x' * 40}/refunds", {}), 404)
    # anonymous visitors sign in first; entities without payable: do not take payments
    anonymous = billing.client()
    for response in (anonymous.post(pay, {}), anonymous.get(listing)):
        assert_problem(response, 401, "unauthenticated")
    note = billing.record("note", "text", "A note")
    ann = billing.client("ann@acme.test")
    assert_problem(ann.post(f"/note/{note}/pay", {}), 404)
    assert_problem(ann.get(f"/note/{note}/payments"), 404)
    assert_problem(ann.get(f"/invoice/{10**6}/payments"), 404)
    assert billing.counts() == before
    assert billing.rows(payments, id=payment["id"]) == foreign


def test_r2_idempotency_key_on_payments(billing: Billing) -> None:
    ann = billing.client("ann@acme.test")
    invoice = billing.invoice("INV-1")
    path, key = f"/invoice/{invoice}/pay", {"Idempotency-Key": "checkout-1"}
    first = ann.post(path, {"amount": "15.00"}, key)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    replay = ann.post(path, {"amount": "15.00"}, key)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_data() == first.get_data()
    assert replay.headers["Location"] == first.headers["Location"]
    assert_problem(ann.post(path, {"amount": "16.00"}, key), 422, "idempotency-key-reused")
    assert len(billing.rows(payments)) == len(billing.rows(checkouts)) == 1
    # a refused request leaves its key free
    assert_problem(ann.post(path, {"amount": "1.00"}, {"Idempotency-Key": "k2"}), 422)
    assert ann.post(path, {"amount": "11.00"}, {"Idempotency-Key": "k2"}).status_code == 201
    # a key claimed by a request still running — or by one that died between the provider's
    # checkout and its answer — is in use: 409, never a second checkout
    body = {"amount": "12.00"}
    with billing.web.engine.begin() as conn:
        scope = idempotency.scope_for(billing.web.record_id("user", email="ann@acme.test"), None)
        digest = idempotency.fingerprint("POST", f"/invoice/{invoice}/pay", body)
        assert idempotency.claim(conn, SLUG, scope, "k3", digest) is None
    assert_problem(ann.post(path, body, {"Idempotency-Key": "k3"}), 409, "idempotency-key-in-use")
    assert len(billing.rows(payments)) == 2
    # refunds: one refund per key
    payment = paid(billing, billing.invoice("INV-2"), "40.00")
    cleo = billing.client("cleo@billing.test")
    refunds = f"/invoice/{billing.invoice('INV-2')}/payments/{payment['id']}/refunds"
    once = cleo.post(refunds, {"amount": "5.00"}, {"Idempotency-Key": "refund-1"})
    again = cleo.post(refunds, {"amount": "5.00"}, {"Idempotency-Key": "refund-1"})
    assert once.status_code == again.status_code == 201 and once.get_data() == again.get_data()
    assert len(billing.rows(payment_refunds)) == 1


def test_provider_failure_is_502_with_the_message_for_staff(
    database_url: str, tmp_path: Path
) -> None:
    # without PORTALIS_BASE_URL the sandbox's checkout link is a path, which the payment
    # service refuses to send a payer to: the provider failed
    with serve(database_url, tmp_path / "instance", base_url=False) as billing:
        invoice = billing.invoice("INV-1")
        problem = assert_problem(
            billing.client("ann@acme.test").post(f"/invoice/{invoice}/pay", {}),
            502, "provider-failed",
        )  # fmt: skip
        assert problem["detail"].startswith("the payment provider did not accept the request")
        assert problem["retryable"] is False
        [row] = billing.rows(payments)
        assert row["status"] == "failed" and "no web page" in row["reason"]
        # who may refund the invoice is staff for it: they read what the provider said
        problem = assert_problem(
            billing.client("tom@billing.test").post(f"/invoice/{invoice}/pay", {}),
            502, "provider-failed",
        )  # fmt: skip
        assert problem["detail"] == row["reason"]
        # a failed request frees its Idempotency-Key: the retry asks the provider again
        tom = billing.client("tom@billing.test")
        for _ in range(2):
            response = tom.post(f"/invoice/{invoice}/pay", {}, {"Idempotency-Key": "again"})
            assert_problem(response, 502, "provider-failed")
        assert len(billing.rows(payments)) == 4
        # the failed payment is listed; its reason is the provider's, for staff only
        listed = billing.client("ann@acme.test").get(f"/invoice/{invoice}/payments").json
        assert [(p["status"], p["reason"]) for p in listed["items"]] == [("failed", None)] * 4
        listed = billing.client("cleo@billing.test").get(f"/invoice/{invoice}/payments").json
        assert all("no web page" in p["reason"] for p in listed["items"])


class SectionOnly:
    """The sandbox's definition section without its provider (a plugin that lost it)."""

    @hookimpl
    def portalis_definition_sections(self) -> list[DefinitionSection]:
        return [SANDBOX_SECTION]


def test_payment_unavailable_is_503(database_url: str, tmp_path: Path) -> None:
    pm = default_plugins.plugin_manager(load_entrypoints=False, extra=[SectionOnly()])
    with serve(database_url, tmp_path / "instance", pm=pm) as billing:
        invoice = billing.invoice("INV-1")
        ann = billing.client("ann@acme.test")
        assert_problem(ann.post(f"/invoice/{invoice}/pay", {}), 503, "payment-unavailable")
        assert ann.get(f"/invoice/{invoice}/payments").json == {"items": []}
        assert billing.rows(payments) == []


def document(billing: Billing, email: str | None) -> dict[str, Any]:
    response = billing.client(email).get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json
    return body


def test_openapi_payment_paths_per_actor(billing: Billing) -> None:
    ann = document(billing, "ann@acme.test")
    assert payment_operations(ann) == {
        "POST /invoice/{id}/pay", "GET /invoice/{id}/payments",
        "POST /order/{id}/pay", "GET /order/{id}/payments",
    }  # fmt: skip
    schemas = ann["components"]["schemas"]
    pay = schemas["invoice.pay"]
    assert pay["additionalProperties"] is False
    assert pay["properties"]["provider"]["enum"] == ["sandbox", None]
    assert pay["properties"]["amount"]["pattern"] == amount_pattern(2)
    assert "invoice.refund" not in schemas and "note.pay" not in schemas
    assert "Payment" in schemas and "StartedPayment" in schemas
    assert payment_operations(document(billing, "vic@acme.test")) == {"GET /invoice/{id}/payments"}
    assert payment_operations(document(billing, "cleo@billing.test")) == {
        "GET /invoice/{id}/payments", "POST /invoice/{id}/payments/{payment}/refunds",
        "GET /order/{id}/payments", "POST /order/{id}/payments/{payment}/refunds",
    }  # fmt: skip
    assert payment_operations(document(billing, None)) == set()
    # OPTIONS names what the actor's document lists
    invoice, note = billing.invoice("INV-1"), billing.record("note", "text", "A note")
    allowed = {
        ("ann@acme.test", f"/invoice/{invoice}/pay"): "POST, OPTIONS",
        ("vic@acme.test", f"/invoice/{invoice}/pay"): "OPTIONS",
        ("vic@acme.test", f"/invoice/{invoice}/payments"): "GET, HEAD, OPTIONS",
        ("cleo@billing.test", f"/invoice/{invoice}/payments/pay_x/refunds"): "POST, OPTIONS",
        ("ann@acme.test", f"/invoice/{invoice}/payments/pay_x/refunds"): "OPTIONS",
    }
    for (email, path), methods in allowed.items():
        response = billing.client(email).options(path)
        assert response.status_code == 204 and response.headers["Allow"] == methods, path
    assert_problem(billing.client("ann@acme.test").options(f"/note/{note}/pay"), 404)


@pytest.mark.parametrize("amount", ["1", "10.5", "0.5", "0.05", "99999999999999.99"])
def test_amount_pattern_accepts(amount: str) -> None:
    assert re.fullmatch(amount_pattern(2).strip("^$"), amount)


def test_amount_pattern_refuses() -> None:
    pattern = re.compile(amount_pattern(2))
    for amount in ("0", "0.0", "0.00", "1.234", "01", "-1", "1e2", "100000000000000", ".5"):
        assert not pattern.search(amount), amount
    assert re.search(amount_pattern(0), "12") and not re.search(amount_pattern(0), "12.0")
    assert re.search(amount_pattern(3), "0.001") and not re.search(amount_pattern(3), "0.000")


def test_openapi_schemas_describe_payment_responses(billing: Billing) -> None:
    invoice = billing.invoice("INV-1")
    ann, cleo = document(billing, "ann@acme.test"), document(billing, "cleo@billing.test")
    for doc in (ann, cleo):
        for schema in doc["components"]["schemas"].values():
            Draft202012Validator.check_schema(schema)

    def valid(doc: dict[str, Any], name: str, value: Any) -> None:
        root = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
        Draft202012Validator(root).validate(value)

    body = {"amount": "25.00", "provider": "sandbox"}
    valid(ann, "invoice.pay", body)
    payment = paid(billing, invoice, "25.00")
    valid(ann, "StartedPayment", payment)
    refund = billing.client("cleo@billing.test").post(
        f"/invoice/{invoice}/payments/{payment['id']}/refunds", {"amount": "5", "reason": "x"}
    )
    valid(cleo, "invoice.refund", {"amount": "5", "reason": "x"})
    valid(cleo, "PaymentRefund", refund.json)
    for email, doc in (("ann@acme.test", ann), ("cleo@billing.test", cleo)):
        listed = billing.client(email).get(f"/invoice/{invoice}/payments").json
        valid(doc, "PaymentList", listed)
        assert listed["items"][0]["refunds"]
    # what the schemas refuse the API refuses too
    validator = Draft202012Validator(
        {"$ref": "#/components/schemas/invoice.pay", "components": ann["components"]}
    )
    for bad in ({"amount": "12.345"}, {"amount": 12}, {"provider": "stripe"}, {"x": 1}):
        assert not validator.is_valid(bad), bad
        response = billing.client("ann@acme.test").post(f"/invoice/{invoice}/pay", bad)
        assert_problem(response, 422, "invalid")

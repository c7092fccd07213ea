"""The payment operations of the OpenAPI document are exact: schemathesis, run as in
`test_api_schemathesis` (same checks, seeded and derandomised), against the billing portal
served over HTTP on 127.0.0.1 — as a customer (start payments, list them) and as a clerk
(list payments, refund them).

The steering of `test_api_schemathesis.RuntimeRules` (real record ids, refs, fresh
Idempotency-Keys, a payment's `amount` at the entity's minimum or null when it is paid as a
whole) plus what only the data decides, for positive cases only:

1. a refund's record and payment: a paid payment of that record (the pair is chosen
   together: a payment under another record's path is 404), and an amount that is not
   more than is left (0.01; null refunds all that is left, after which the payment answers
   409 `refund-refused`, which the document lists).

Nothing weakens a check. Only SQLite, as the blueprint's run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from test_api_schemathesis import RuntimeRules, over_http, run_schemathesis
from test_payments_support import API, EVENTS, SLUG, Billing, payment_operations, serve


@pytest.fixture
def served(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[Billing, str]]:
    with serve(sqlite_url, tmp_path / "instance") as billing, over_http(billing.web.app) as base:
        yield billing, f"{base}/{SLUG}{API}"


class PaymentRules(RuntimeRules):
    """`RuntimeRules` with payment amounts and paid payments steered (module docstring)."""

    #: (entity, record id, payment id) of payments that succeeded
    paid: list[tuple[str, int, str]]

    def steer(self, ctx: Any, case: Any) -> Any:
        """`map_case`: the runtime rules, then the payment rules."""
        case = super().steer(ctx, case)
        if case.meta is None or not case.meta.generation.mode.is_positive:
            return case
        path: str = case.operation.path
        entity = path.split("/")[1]
        body = dict(case.body) if isinstance(case.body, dict) else None
        if path.endswith("/refunds"):
            choices = [p for p in self.paid if p[0] == entity]
            if choices:
                generated = case.path_parameters.get("id")
                pick = int(generated) if isinstance(generated, int | float) else 0
                _, record, payment = choices[pick % len(choices)]
                case.path_parameters = {**case.path_parameters, "id": record, "payment": payment}
            if body is not None and body.get("amount") is not None:
                body["amount"] = "0.01"
        if body is not None:
            case.body = body
        return case

    def created(self, ctx: Any, case: Any, response: Any) -> None:
        """Records created through a collection are real ids too (payments are not)."""
        if case.operation.path.count("/") == 1:
            super().created(ctx, case, response)


def signed_in(billing: Billing, email: str) -> dict[str, str]:
    """Cookie and X-CSRF-Token headers of a session of `email`."""
    browser = billing.client(email).browser
    token = browser.get(f"{API}/openapi.json", headers={"X-CSRF-Token": "fetch"}).headers[
        "X-CSRF-Token"
    ]
    cookie = browser.client.get_cookie(billing.web.app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return {"Cookie": f"{cookie.key}={cookie.value}", "X-CSRF-Token": token}


def run_as(
    billing: Billing, api: str, email: str, paid: list[tuple[str, int, str]]
) -> tuple[set[str], dict[str, set[int]]]:
    """One schemathesis run on `email`'s document: its payment operations and the statuses
    each operation was answered with (failed checks fail the test)."""
    headers = signed_in(billing, email)
    document = requests.get(f"{api}/openapi.json", headers=headers, timeout=30).json()
    steering = PaymentRules.read(billing.web.compiled.model, api, headers)
    assert isinstance(steering, PaymentRules)
    steering.paid = paid
    run = run_schemathesis(api, document, headers, steering)
    assert run.failures == [], "\n".join(run.failures)
    operations = payment_operations(document)
    assert set(run.statuses) >= operations, "every payment operation was exercised"
    return operations, run.statuses


def test_payment_operations_are_exact(served: tuple[Billing, str]) -> None:
    billing, api = served
    # a customer: start payments and read them; each start succeeded at least once
    operations, statuses = run_as(billing, api, "ann@acme.test", [])
    assert operations == {
        "POST /invoice/{id}/pay", "GET /invoice/{id}/payments",
        "POST /order/{id}/pay", "GET /order/{id}/payments",
    }  # fmt: skip
    for label in ("POST /invoice/{id}/pay", "POST /order/{id}/pay"):
        assert 201 in statuses[label], (label, statuses[label])

    # a clerk: read and refund payments that succeeded at the sandbox
    paid, before = [], len(billing.hooks.to(EVENTS))
    for entity, column, key in (("invoice", "number", "INV-1"), ("order", "reference", "ORD-G1")):
        record = billing.record(entity, column, key)
        payer = billing.client("gus@globex.test" if key.endswith("G1") else "ann@acme.test")
        payment = payer.post(f"/{entity}/{record}/pay", {}).json
        billing.approve(payment["redirect_url"])
        paid.append((entity, record, payment["id"]))
    outcomes = billing.deliver(before + 2)
    assert [o.status for o in outcomes if o.result == "applied"] == ["succeeded"] * 2
    operations, statuses = run_as(billing, api, "cleo@billing.test", paid)
    assert operations == {
        "GET /invoice/{id}/payments", "POST /invoice/{id}/payments/{payment}/refunds",
        "GET /order/{id}/payments", "POST /order/{id}/payments/{payment}/refunds",
    }  # fmt: skip
    for label in operations - {"GET /invoice/{id}/payments", "GET /order/{id}/payments"}:
        assert 201 in statuses[label], (label, statuses[label])

"""The provider on a real database (SQLite and PostgreSQL): checkouts in
`portalis_sandbox_checkout`, refunds once per idempotency key and never more than was paid,
and the list reconciliation reads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from portalis_payments_sandbox import SandboxConfig, store
from portalis_payments_sandbox.signing import key_id, link_code_valid
from portalis_payments_sandbox.tables import checkouts, keys, refunds
from sandbox_support import CONFIG, PROVIDER, SECRET, context, request_for

from portalis.api import Checkout, ProviderError, utcnow

OTHER = SandboxConfig(secret="another-sandbox-secret-0123456789abcdef")
EVENTS = "https://shop.example.test/sandbox-shop/_payments/sandbox/events"


def create(engine: sa.Engine, **options: str) -> Checkout:
    return PROVIDER.create_checkout(CONFIG, request_for(EVENTS, **options), context(engine))


def approve(engine: sa.Engine, checkout: Checkout, status: str = "succeeded") -> str:
    """Finish a checkout as the hosted page would; its transaction id."""
    done = store.decide(engine, checkout.reference, status, utcnow(), method="card")
    assert done is not None
    return done.transaction or ""


def row(engine: sa.Engine, checkout_id: str) -> dict[str, object]:
    with engine.connect() as conn:
        found = conn.execute(sa.select(checkouts).where(checkouts.c.id == checkout_id))
        return dict(found.mappings().one())


def test_create_checkout_stores_it_in_the_table(engine: sa.Engine) -> None:
    before = utcnow()
    checkout = create(engine, amount="12.50", currency="EUR", locale="de")
    stored = row(engine, checkout.reference)
    assert checkout.reference.startswith("cs_") and len(checkout.reference) <= 40
    assert {k: stored[k] for k in ("portal", "payment_id", "currency", "description", "return_url",
                                   "events_url", "locale", "status", "transaction", "method")} == {
        "portal": "sandbox-shop", "payment_id": "pay_test", "currency": "EUR",
        "description": "Invoice INV-2026-00017", "return_url": "/sandbox-shop/payments/pay_test/return",
        "events_url": EVENTS, "locale": "de", "status": "open", "transaction": None, "method": None,
    }  # fmt: skip
    assert stored["amount"] == Decimal("12.50") and str(stored["amount"]) == "12.50"
    assert stored["refunded"] == 0 and stored["settle_after"] == CONFIG.settle_after_seconds
    assert stored["key_id"] == key_id(SECRET)
    assert store.aware(stored["created_at"]) >= before - timedelta(seconds=1)  # type: ignore[arg-type]
    with engine.connect() as conn:
        assert conn.execute(sa.select(keys.c.secret)).scalars().all() == [SECRET]


def test_redirect_url_is_root_relative_without_a_base_url(engine: sa.Engine) -> None:
    checkout = create(engine)
    parts = urlsplit(checkout.redirect_url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "",
        "",
        f"/_sandbox-pay/{checkout.reference}",
    )
    link = parse_qs(parts.query)["link"][0]
    assert link_code_valid(SECRET, checkout.reference, link)


def test_redirect_url_is_under_the_base_url(engine: sa.Engine) -> None:
    checkout = PROVIDER.create_checkout(
        CONFIG, request_for(EVENTS), context(engine, "https://portal.example.test")
    )
    assert checkout.redirect_url.startswith(
        f"https://portal.example.test/_sandbox-pay/{checkout.reference}?link="
    )


def test_every_checkout_has_its_own_id_and_one_key_row(engine: sa.Engine) -> None:
    first, second = create(engine), create(engine)
    assert first.reference != second.reference
    PROVIDER.create_checkout(OTHER, request_for(EVENTS), context(engine))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(keys)).scalar() == 2


@pytest.mark.parametrize(
    "options",
    [
        {"amount": "0"},
        {"amount": "-5"},
        {"currency": "EURO"},
        {"return_url": "javascript:alert(1)"},
        {"return_url": "//evil.example/return"},
        {"return_url": "relative/path"},
        {"return_url": "https://shop.example.test/a b"},
    ],
)
def test_create_checkout_refuses_what_it_cannot_serve(
    engine: sa.Engine, options: dict[str, str]
) -> None:
    with pytest.raises(ProviderError):
        create(engine, **options)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(checkouts)).scalar() == 0


def test_refund_is_idempotent_by_key(engine: sa.Engine) -> None:
    transaction = approve(engine, create(engine, amount="30.00"))
    first = PROVIDER.refund(
        CONFIG, transaction, Decimal("10.00"), "EUR", "re_key_1", context(engine)
    )
    again = PROVIDER.refund(
        CONFIG, transaction, Decimal("10.00"), "EUR", "re_key_1", context(engine)
    )
    assert first == again and first.status == "succeeded" and first.reference.startswith("re_")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(refunds)).scalar() == 1
        assert conn.execute(sa.select(checkouts.c.refunded)).scalar() == Decimal("10.00")
    # the same key for another amount is refused, and changes nothing
    with pytest.raises(ProviderError, match="another refund"):
        PROVIDER.refund(CONFIG, transaction, Decimal("5.00"), "EUR", "re_key_1", context(engine))


def test_refund_refuses_more_than_was_paid(engine: sa.Engine) -> None:
    transaction = approve(engine, create(engine, amount="30.00"))
    PROVIDER.refund(CONFIG, transaction, Decimal("20.00"), "EUR", "k1", context(engine))
    with pytest.raises(ProviderError, match="more than the 10.00 EUR left"):
        PROVIDER.refund(CONFIG, transaction, Decimal("10.01"), "EUR", "k2", context(engine))
    last = PROVIDER.refund(CONFIG, transaction, Decimal("10.00"), "EUR", "k3", context(engine))
    assert last.status == "succeeded"
    with pytest.raises(ProviderError, match="more than the 0.00 EUR left"):
        PROVIDER.refund(CONFIG, transaction, Decimal("0.01"), "EUR", "k4", context(engine))
    with engine.connect() as conn:
        assert conn.execute(sa.select(checkouts.c.refunded)).scalar() == Decimal("30.00")
        assert conn.execute(sa.select(sa.func.count()).select_from(refunds)).scalar() == 2


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [("5", "USD", "in EUR, not USD"), ("0", "EUR", "more than 0"), ("-1", "EUR", "more than 0")],
)
def test_refund_refuses_wrong_amounts_and_currencies(
    engine: sa.Engine, amount: str, currency: str, message: str
) -> None:
    transaction = approve(engine, create(engine))
    with pytest.raises(ProviderError, match=message):
        PROVIDER.refund(CONFIG, transaction, Decimal(amount), currency, "k", context(engine))


def test_refund_needs_a_succeeded_payment_of_this_secret(engine: sa.Engine) -> None:
    pending = approve(engine, create(engine), status="pending")
    with pytest.raises(ProviderError, match="pending, not succeeded"):
        PROVIDER.refund(CONFIG, pending, Decimal("1"), "EUR", "k1", context(engine))
    paid = approve(engine, create(engine))
    with pytest.raises(ProviderError, match="knows no payment"):
        PROVIDER.refund(OTHER, paid, Decimal("1"), "EUR", "k2", context(engine))
    with pytest.raises(ProviderError, match="knows no payment"):
        PROVIDER.refund(CONFIG, "tr_unknown", Decimal("1"), "EUR", "k3", context(engine))
    with pytest.raises(ProviderError, match="idempotency key"):
        PROVIDER.refund(CONFIG, paid, Decimal("1"), "EUR", "", context(engine))


def test_refund_key_of_another_payment_is_refused(engine: sa.Engine) -> None:
    one, two = approve(engine, create(engine)), approve(engine, create(engine))
    PROVIDER.refund(CONFIG, one, Decimal("1"), "EUR", "shared", context(engine))
    with pytest.raises(ProviderError, match="another refund"):
        PROVIDER.refund(CONFIG, two, Decimal("1"), "EUR", "shared", context(engine))


def test_list_payments(engine: sa.Engine) -> None:
    start = utcnow() - timedelta(seconds=1)
    create(engine)  # open: no payment yet
    paid = create(engine, payment_id="pay_paid", amount="20.00")
    refunded = create(engine, payment_id="pay_refunded", amount="5.00")
    declined = create(engine, payment_id="pay_declined")
    pending = create(engine, payment_id="pay_pending")
    PROVIDER.create_checkout(OTHER, request_for(EVENTS), context(engine))  # another secret
    approve(engine, paid)
    PROVIDER.refund(CONFIG, approve(engine, refunded), Decimal("5.00"), "EUR", "r", context(engine))
    approve(engine, declined, status="failed")
    approve(engine, pending, status="pending")
    PROVIDER.refund(
        CONFIG, row_transaction(engine, paid), Decimal("2.00"), "EUR", "p", context(engine)
    )

    listed = {p.payment_id: p for p in PROVIDER.list_payments(CONFIG, start, context(engine))}
    assert {k: (v.status, v.amount, v.refunded) for k, v in listed.items()} == {
        "pay_paid": ("succeeded", Decimal("20.00"), Decimal("2.00")),
        "pay_refunded": ("refunded", Decimal("5.00"), Decimal("5.00")),
        "pay_declined": ("failed", Decimal("12.50"), Decimal(0)),
        "pay_pending": ("pending", Decimal("12.50"), Decimal(0)),
    }
    assert listed["pay_paid"].reference == paid.reference
    assert all(p.created_at.tzinfo is not None and p.currency == "EUR" for p in listed.values())
    # a later `since` lists nothing; another secret lists only its own (still open) checkout
    assert (
        list(PROVIDER.list_payments(CONFIG, utcnow() + timedelta(seconds=1), context(engine))) == []
    )
    assert list(PROVIDER.list_payments(OTHER, start, context(engine))) == []


def test_list_payments_reports_a_due_settlement_as_succeeded(engine: sa.Engine) -> None:
    """The network's truth is its clock: a pending payment past its settlement time has
    succeeded, even before the hosted page announced it."""
    checkout = create(engine)
    approve(engine, checkout, status="pending")
    with engine.begin() as conn:
        past = datetime.now(UTC) - timedelta(seconds=5)
        conn.execute(checkouts.update().values(settle_at=past))
    since = utcnow() - timedelta(hours=1)
    assert [p.status for p in PROVIDER.list_payments(CONFIG, since, context(engine))] == [
        "succeeded"
    ]


def row_transaction(engine: sa.Engine, checkout: Checkout) -> str:
    return str(row(engine, checkout.reference)["transaction"])


def test_r7_concurrent_refunds_never_give_back_more_than_was_paid(engine: sa.Engine) -> None:
    """The same key sent by four threads at once refunds once; then eight refunds of 5.00
    with their own keys at once: three fit into the 15.00 left, five are refused."""
    transaction = approve(engine, create(engine, amount="20.00"))

    def attempt(key: str) -> str:
        try:
            return PROVIDER.refund(
                CONFIG, transaction, Decimal("5.00"), "EUR", key, context(engine)
            ).reference
        except ProviderError:
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        same = list(pool.map(attempt, ["same"] * 4))
        results = list(pool.map(attempt, [f"k{i}" for i in range(8)]))
    assert len(set(same)) == 1 and same[0].startswith("re_")
    assert results.count("refused") == 5  # 20.00 - 5.00 (same) leaves room for three
    with engine.connect() as conn:
        assert conn.execute(sa.select(checkouts.c.refunded)).scalar() == Decimal("20.00")
        assert conn.execute(sa.select(sa.func.count()).select_from(refunds)).scalar() == 4

"""`testpay`: a payment provider for the engine's payment tests, speaking the provider
contract (`portalis.api.PaymentProvider`) with a network kept in memory.

Its events are JSON bodies signed with HMAC-SHA256 over `<timestamp>.<body>` with the
entry's `secret` (`Testpay-Signature`, `Testpay-Timestamp`), verified by `parse_event`
before the body is read — so the tests exercise the core's side of the contract: ids echoed
back, events parsed and verified, refunds with idempotency keys, a list for reconciliation.
The module is a plugin: its definition section (`payments.providers` entries `type:
testpay`, option `secret` as a `${ENV}` reference) and `HmacPay` through the hooks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from portalis.api import (
    Checkout,
    CheckoutRequest,
    DefinitionSection,
    EventRejected,
    PaymentEvent,
    ProviderContext,
    ProviderError,
    ProviderPayment,
    RefundResult,
    hookimpl,
)

NAME = "testpay"
#: How far an event's timestamp may be from now.
TOLERANCE = timedelta(minutes=5)
#: The secret the tests' definitions read from `${TESTPAY_SECRET}`.
SECRET = "whsec-test-0123456789abcdef"
ENV = {"TESTPAY_SECRET": SECRET}


@dataclass(frozen=True, slots=True)
class HmacPayConfig:
    """A `testpay` entry's compiled options."""

    secret: str


def _compile(value: Mapping[str, Any]) -> HmacPayConfig:
    return HmacPayConfig(str(value["secret"]))


SECTION = DefinitionSection(
    place="payment",
    name=NAME,
    schema={
        "type": "object",
        "properties": {"secret": {"type": "string", "description": "Signing secret."}},
        "required": ["secret"],
        "additionalProperties": False,
    },
    title="Test payments",
    description="A payment provider for tests: no network, HMAC-signed events.",
    example="secret: ${TESTPAY_SECRET}\n",
    compile=_compile,
    secret_options=("secret",),
)


@dataclass
class HmacPay:
    """The provider: `checkouts` made (reference → request), `refunds` by idempotency key,
    and what its network `listed`; `refuse` makes the next call raise ProviderError."""

    name: str = NAME
    checkouts: dict[str, CheckoutRequest] = field(default_factory=dict)
    refunds: dict[str, tuple[str, Decimal]] = field(default_factory=dict)
    listed: list[ProviderPayment] = field(default_factory=list)
    refuse: str | None = None
    pending_refunds: bool = False

    def _refusal(self) -> None:
        if self.refuse is not None:
            message, self.refuse = self.refuse, None
            raise ProviderError(message)

    def create_checkout(
        self, config: object, request: CheckoutRequest, context: ProviderContext
    ) -> Checkout:
        self._refusal()
        reference = "cs_" + secrets.token_hex(8)
        self.checkouts[reference] = request
        return Checkout(reference, f"https://pay.example.test/checkout/{reference}")

    def parse_event(
        self,
        config: object,
        body: bytes,
        headers: Mapping[str, str],
        now: datetime,
        context: ProviderContext | None = None,
    ) -> PaymentEvent | None:
        assert isinstance(config, HmacPayConfig)
        stamp = headers.get("Testpay-Timestamp", "")
        given = headers.get("Testpay-Signature", "")
        if not hmac.compare_digest(given, sign(config.secret, stamp, body)):
            raise EventRejected("bad signature")
        try:
            at = datetime.fromtimestamp(int(stamp), UTC)
        except ValueError:
            raise EventRejected("bad timestamp") from None
        if abs(now - at) > TOLERANCE:
            raise EventRejected("timestamp outside the tolerance")
        data = json.loads(body)
        if data["type"] == "ping":
            return None
        return PaymentEvent(
            event_id=data["id"],
            kind=data["type"],
            payment_id=data.get("payment_id"),
            reference=data.get("reference"),
            amount=Decimal(data["amount"]),
            currency=data["currency"],
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
            method=data.get("method"),
            transaction=data.get("transaction"),
            refund_reference=data.get("refund_reference"),
            reason=data.get("reason"),
        )

    def refund(
        self,
        config: object,
        transaction: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        context: ProviderContext,
    ) -> RefundResult:
        self._refusal()
        if idempotency_key not in self.refunds:
            self.refunds[idempotency_key] = ("re_" + secrets.token_hex(6), amount)
        reference = self.refunds[idempotency_key][0]
        return RefundResult(reference, "pending" if self.pending_refunds else "succeeded")

    def list_payments(
        self, config: object, since: datetime, context: ProviderContext
    ) -> Iterable[ProviderPayment] | None:
        self._refusal()
        return [p for p in self.listed if p.created_at >= since]


def sign(secret: str, stamp: str, body: bytes) -> str:
    """The signature of a body sent at `stamp`."""
    return hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed(payload: Mapping[str, Any], *, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    """The body and headers the provider's network would post now."""
    body = json.dumps(payload).encode()
    stamp = str(int(datetime.now(UTC).timestamp()))
    return body, {"Testpay-Timestamp": stamp, "Testpay-Signature": sign(secret, stamp, body)}


@hookimpl
def portalis_definition_sections() -> list[DefinitionSection]:
    """The `testpay` entries' options."""
    return [SECTION]


@hookimpl
def portalis_payment_providers() -> list[HmacPay]:
    """A `testpay` provider."""
    return [HmacPay()]

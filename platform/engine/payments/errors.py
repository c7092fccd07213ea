"""Errors of the payment service, beyond the record store's (`data.errors`: NotFound → 404,
Forbidden → 403, ValidationFailed → 422, RuleConflict → 409). The runtime maps these:
`NothingToPay` and `RefundRefused` → 409 (RuleConflicts: the input is fine, the payment's or
record's state is not), `ProviderFailed` → 502, `PaymentUnavailable` → 503."""

from __future__ import annotations

from ..data.errors import NON_FIELD, FieldMessage, RuleConflict
from ..problems import PortalisError


class NothingToPay(RuleConflict):
    """The record has nothing open to pay (its amount is zero, negative or empty)."""

    code = "nothing-to-pay"

    def __init__(self) -> None:
        super().__init__({NON_FIELD: [FieldMessage("nothing-to-pay", "nothing is open to pay")]})


class RefundRefused(RuleConflict):
    """The payment cannot be refunded in its state (not succeeded, fully refunded, flagged, or
    the provider named no transaction to refund)."""

    code = "refund-refused"

    def __init__(self, message: FieldMessage) -> None:
        super().__init__({NON_FIELD: [message]})


class ProviderFailed(PortalisError):
    """The provider refused or could not be reached; `message` is the provider's text (safe
    to show staff; customers are shown a generic one). The payment or refund it was for is
    stored as failed."""

    code = "provider-failed"

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class PaymentUnavailable(PortalisError):
    """No loaded plugin serves a provider entry's type (the plugin that checked the
    definition is no longer installed), or the entry is not offered for the entity."""

    code = "payment-unavailable"

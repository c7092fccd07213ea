"""What payment statuses and methods are called on pages (translated when shown)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ..display import N_
from ..templating import gettext

#: Each payment status, as payers and staff read it.
STATUS_LABELS: Final[Mapping[str, str]] = {
    "created": N_("Starting"),
    "open": N_("Waiting for payment"),
    "pending": N_("Processing"),
    "succeeded": N_("Paid"),
    "failed": N_("Failed"),
    "canceled": N_("Canceled"),
    "partially_refunded": N_("Partly refunded"),
    "refunded": N_("Refunded"),
    "flagged": N_("Needs review"),
}
#: Payment methods providers report, as people read them (others are shown as reported).
METHOD_LABELS: Final[Mapping[str, str]] = {
    "card": N_("Card"),
    "sepa_debit": N_("SEPA direct debit"),
    "bank_transfer": N_("Bank transfer"),
    "paypal": N_("PayPal"),
    "ideal": N_("iDEAL"),
    "sofort": N_("Sofort"),
    "giropay": N_("giropay"),
    "bancontact": N_("Bancontact"),
}


def status_label(status: str) -> str:
    """The translated name of a payment status."""
    return gettext(STATUS_LABELS.get(status, status))


def method_label(method: str | None) -> str:
    """The translated name of a payment method ("" when the provider named none)."""
    if not method:
        return ""
    known = METHOD_LABELS.get(method)
    return gettext(known) if known is not None else method.replace("_", " ")

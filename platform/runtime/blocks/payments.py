"""The payments block: what is open on the page's record, paying it online, its payments.

Readers of the record see its payments (date, amount, method, status, refunds). Users with
the `pay` action see the open amount and a pay form — an amount input when the entity allows
partial payments, a choice when several providers are offered — whose POST starts the
payment and sends the payer on to the provider's hosted checkout through the portal's own
page (`/_payments/<id>/checkout`). Users with `refund` get a refund form per payment that
brought money in. Refusals re-render the page with the error next to the form that sent it
(422 for input, 409 for a state that does not allow it, 502 when the provider refused) and
store nothing beyond what the engine records about the attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask import Response, abort, flash, g, redirect, render_template
from markupsafe import Markup

from portalis.engine.data.errors import NON_FIELD, Forbidden, NotFound, ValidationFailed
from portalis.engine.definition.fieldtypes.money import Money, currency_places
from portalis.engine.definition.payments_section import PaymentsBlock
from portalis.engine.flow.rights import record_rights
from portalis.engine.payments.errors import (
    NothingToPay,
    PaymentUnavailable,
    ProviderFailed,
    RefundRefused,
)
from portalis.engine.payments.payable import open_amount
from portalis.engine.payments.payments import payments_of
from portalis.engine.payments.records import Payment

from ..display import Formatter
from ..form_errors import error_texts
from ..i18n import format_money
from ..payments import flow
from ..payments.labels import method_label, status_label
from ..payments.setup import bound_providers
from ..templating import gettext, label
from ..urls import page_url, portal_url
from .base import BlockContext, BlockType

#: Operations a POST to the block may name.
OPERATIONS = ("pay", "refund")
#: The status of each refusal when the block re-renders the page.
_CONFLICTS = (NothingToPay, RefundRefused)


@dataclass(slots=True)
class PaymentItem:
    """One payment as the block shows it."""

    id: str
    at: Markup
    amount: str
    refunded: str
    method: str
    status: str
    status_key: str
    provider: str
    url: str
    refundable: str | None  # what is left to refund, as an input value; None: nothing
    flag: str | None


class PaymentsBlockType(BlockType):
    """`- payments: {entity: invoice}`."""

    name = "payments"

    def render(self, ctx: BlockContext) -> Markup:
        """The open amount, the pay form and the payments, as the actor may see them."""
        cfg: PaymentsBlock = ctx.block.config
        record = ctx.record
        entity = ctx.store.model.entities.get(cfg.entity)
        if record is None or entity is None or entity.payable is None:
            return Markup("")
        spec = entity.payable
        rights = record_rights(
            ctx.store, ctx.actor, entity.name, record.id, actions=("pay", "refund")
        )
        payments = payments_of(ctx.store, ctx.actor, entity.name, record.id)
        left = open_amount(record, spec)
        try:
            providers = bound_providers(ctx.portal)
        except PaymentUnavailable:  # a provider's plugin is gone: the record reads, no pay form
            providers = {}
        offered = [(name, label(providers[name].entry.label, name)) for name in spec.providers
                   if name in providers]  # fmt: skip
        can_pay = "pay" in rights.actions and bool(offered)
        can_refund = "refund" in rights.actions
        form = ctx.form or {}
        title = label(cfg.title, "") if cfg.title is not None else gettext("Payments")
        return Markup(
            render_template(
                "blocks/payments.html",
                block=ctx.block,
                title=title,
                open_text=format_money(left.amount, left.currency, ctx.locale) if left else "",
                due=left is not None and left.amount > 0,
                can_pay=can_pay,
                partial=spec.partial,
                minimum=_minimum_text(spec.minimum, left, ctx.locale),
                amount_value=form.get("amount") or (str(left.amount) if left else ""),
                open_value=str(left.amount) if left else "",
                step=_step(left),
                providers=offered,
                chosen=form.get("provider") or (offered[0][0] if offered else ""),
                items=[self.item(ctx, p, can_refund) for p in payments],
                can_refund=can_refund,
                action=page_url(ctx.page.name, record.id),
                errors=dict(ctx.errors or {}),
                failed_op=form.get("op"),
                failed_payment=form.get("payment"),
            )
        )

    def item(self, ctx: BlockContext, payment: Payment, can_refund: bool) -> PaymentItem:
        """A payment's row (with what is left to refund for users who may refund)."""
        fmt = Formatter(ctx.portal, ctx.actor, ctx.locale)
        iso = payment.created_at.isoformat(timespec="seconds")
        at = Markup('<time datetime="{}">{}</time>').format(
            iso, fmt.datetime_text(payment.created_at)
        )
        left = payment.amount - payment.refunded
        refundable = payment.counted and left > 0 and payment.transaction is not None
        return PaymentItem(
            id=payment.id,
            at=at,
            amount=format_money(payment.amount, payment.currency, ctx.locale),
            refunded=format_money(payment.refunded, payment.currency, ctx.locale)
            if payment.refunded
            else "",
            method=method_label(payment.method),
            status=status_label(payment.status),
            status_key=payment.status,
            provider=payment.provider,
            url=portal_url(flow.PAYMENT_PATH.format(payment=payment.id)),
            refundable=str(left) if can_refund and refundable else None,
            flag=payment.flag if can_refund else None,
        )

    def handle_post(self, ctx: BlockContext) -> Response | None:
        """Pay (then on to the provider's page) or refund (then back to the record)."""
        cfg: PaymentsBlock = ctx.block.config
        record = ctx.record
        form = ctx.form or {}
        operation = str(form.get("op", ""))
        if record is None or record.entity != cfg.entity or operation not in OPERATIONS:
            abort(404)
        try:
            amount = _amount(form.get("amount"))
        except ValueError:
            ctx.errors = {"amount": [gettext("Enter an amount like 12.50.")]}
            return None
        try:
            if operation == "pay":
                provider = str(form.get("provider") or "") or None
                started = flow.start(ctx.portal, ctx.actor, cfg.entity, record.id,
                                     amount=amount, provider=provider, locale=ctx.locale)  # fmt: skip
                checkout = flow.PAYMENT_PATH.format(payment=started.payment.id) + "/checkout"
                return redirect(portal_url(checkout), 303)  # type: ignore[return-value]
            reason = str(form.get("reason") or "").strip()[:500] or None
            refunded = flow.refund(ctx.portal, ctx.actor, str(form.get("payment", "")),
                                   amount=amount, reason=reason)  # fmt: skip
        except (NotFound, Forbidden):
            abort(404)
        except _CONFLICTS as exc:
            ctx.errors = error_texts(exc.errors, ctx.locale)
            g.block_status = 409
            return None
        except ValidationFailed as exc:
            ctx.errors = error_texts(exc.errors, ctx.locale)
            return None
        except ProviderFailed:
            ctx.errors = {NON_FIELD: [_provider_refusal(operation)]}
            g.block_status = 502
            return None
        except PaymentUnavailable:
            ctx.errors = {NON_FIELD: [gettext("Online payment is not available at the moment.")]}
            g.block_status = 503
            return None
        shown = format_money(refunded.amount, refunded.currency, ctx.locale)
        if refunded.status == "succeeded":
            flash(gettext("%(amount)s refunded.", amount=shown), "success")
        else:
            flash(gettext("Refund of %(amount)s requested; the provider confirms it later.",
                          amount=shown), "success")  # fmt: skip
        return redirect(page_url(ctx.page.name, record.id), 303)  # type: ignore[return-value]


def _amount(value: object) -> Decimal | None:
    """The amount typed in (None: all of it); ValueError for text that is no number."""
    text = str(value or "").strip().replace(" ", "")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None


def _step(left: Money | None) -> str:
    """The amount input's step: the currency's smallest unit (0.01, 1 for JPY)."""
    places = currency_places(left.currency) if left is not None else 2
    return "1" if places == 0 else "0." + "0" * (places - 1) + "1"


def _minimum_text(minimum: Decimal | None, left: Money | None, locale: str) -> str:
    if minimum is None or left is None:
        return ""
    return format_money(minimum, left.currency, locale)


def _provider_refusal(operation: str) -> str:
    if operation == "pay":
        return gettext("The payment provider did not accept the payment. Please try again later.")
    return gettext("The payment provider refused the refund; nothing was refunded.")

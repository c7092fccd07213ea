"""Examples of online payments: a payable invoice, its providers and the payment grants."""

from __future__ import annotations

from typing import Final

from .example import Example

PAYABLE: Final = Example(
    "Invoices customers of the account pay online, in part if they like (at least 10), at a "
    "sandbox provider's hosted checkout. Portalis keeps `paid_online`; the open amount is "
    "computed from it, so a payment settles the invoice and a refund by an agent reopens it.",
    """\
payments:
  providers:
    - type: sandbox
      label: {en: Card (test), de: Karte (Test)}
      secret: ${SANDBOX_PAYMENTS_SECRET}
entities:
  invoice:
    title_field: number
    fields:
      number: {type: string, required: true}
      account: {type: ref, to: account, required: true}
      status: {type: choice, options: [issued, paid], default: issued}
      total: {type: money}
      open_amount: {type: money, compute: "(record.total or 0) - record.paid_online"}
    payable:
      amount: open_amount
      description: {en: "Invoice {number}", de: "Rechnung {number}"}
      partial: {minimum: 10}
      paid: settle                        # taken by Portalis when nothing is open
      reopened: reopen                    # taken by Portalis when a refund opens an amount
    permissions:
      - {roles: [customer], actions: [read, pay], scope: account}
      - {roles: [agent], actions: [read, refund], scope: all}
workflows:
  invoice_flow:
    entity: invoice
    field: status
    initial: issued
    transitions:
      - {name: settle, from: issued, to: paid, roles: [agent]}
      - {name: reopen, from: paid, to: issued, roles: [agent]}
""",
)

SECTIONS: Final = {"payable": (PAYABLE,)}

"""Examples of reading data: metrics and lookups."""

from __future__ import annotations

from typing import Final

from .example import Example

METRICS: Final = Example(
    "A dashboard: filtered counts, money per currency and converted into EUR with dated "
    "rates, and monthly figures as a line chart with a table.",
    """\
exchange_rates: {entity: fx_rate, currency: code, rate: rate, date: valid_from}
entities:
  fx_rate:                                # 1 <code> is worth <rate> EUR from <valid_from> on
    title_field: code
    fields:
      code: {type: string, required: true, max_length: 3}
      rate: {type: decimal, places: 6, required: true}
      valid_from: {type: date, required: true}
    permissions:
      - {roles: [agent], actions: [read], scope: all}     # readers of converted figures
pages:
  figures:
    route: /figures
    roles: [agent]
    blocks:
      - metrics:
          - {label: Open urgent tickets, entity: ticket, where: {status: open, priority: urgent}}
          - {label: Disputed, entity: ticket, aggregate: sum, field: amount}   # "€1,204.50 · $310.00"
          - {label: Disputed in EUR, entity: ticket, aggregate: sum, field: amount, currency: EUR}
          - {label: Largest dispute, entity: ticket, aggregate: max, field: amount}
          - label: Disputed in EUR by due month
            entity: ticket
            aggregate: sum
            field: amount
            currency: EUR                 # each month at the rate valid on its first day
            group_by: {field: due, by: month}
            chart: line
            display: table
""",
)

LOOKUP: Final = Example(
    "A line's price: the negotiated price of the order's account for the product, valid "
    "today, else the product's list price.",
    """\
entities:
  product:
    title_field: name
    fields:
      name: {type: string, required: true}
      list_price: {type: money, required: true}
  price_agreement:
    fields:
      account: {type: ref, to: account, required: true}
      product: {type: ref, to: product, required: true}
      price: {type: money, required: true}
      valid_from: {type: date, required: true}
      valid_to: {type: date}                          # empty: open-ended
  order:
    fields:
      account: {type: ref, to: account, required: true}
  order_line:
    lookups:
      negotiated_price:
        from: price_agreement
        match: {account: order.account, product: product}
        valid: [valid_from, valid_to]
        order_by: -valid_from                         # the latest agreement first
        value: price
    fields:
      order: {type: ref, to: order, required: true}
      product: {type: ref, to: product, required: true}
      quantity: {type: int, required: true}
      price: {type: money, default: {expr: "record.negotiated_price or record.product.list_price"}}
      amount: {type: money, compute: "record.quantity * record.price"}
""",
)


SECTIONS: Final[dict[str, tuple[Example, ...]]] = {
    "metric": (METRICS,),
    "lookup": (LOOKUP,),
}

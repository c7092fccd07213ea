"""Examples of derived fields: rollups, computed, live (`stored: sql`) and sequence fields."""

from __future__ import annotations

from typing import Final

from .example import Example

FIELD_DERIVED: Final = Example(
    "Derived values: rollups over child records, a stored computed field, a virtual field and "
    "an expression default.",
    """\
entities:
  invoice:
    title_field: number
    fields:
      number: {type: string, required: true, unique: true, max_length: 20}
      account: {type: ref, to: account, required: true}
      issued: {type: date, default: {expr: "today()"}}     # evaluated when the record is created
      total: {type: money, rollup: sum, of: invoice_line.amount, via: invoice}
      lines: {type: int, rollup: count, of: invoice_line, via: invoice}
      disputed_lines: {type: int, rollup: count, of: invoice_line, via: invoice, where: {disputed: true}}
      age_days: {type: int, compute: "days_since(record['issued'])", stored: false}   # virtual
  invoice_line:
    fields:
      invoice: {type: ref, to: invoice, required: true}
      description: {type: string, required: true, max_length: 200}
      quantity: {type: int, default: 1, min: 1}
      price: {type: money, required: true}
      amount: {type: money, compute: "(record['quantity'] or 0) * (record['price'] or 0)"}
      net: {type: money, compute: "round(record['amount'] / 1.19)", stored: false}
      disputed: {type: bool, default: false}
""",
)

FIELD_LIVE: Final = Example(
    "Live fields computed by the database (`stored: sql`): overdue invoices, never stale, "
    "filtered and sorted in a list and counted by a metric.",
    """\
entities:
  invoice:
    title_field: number
    fields:
      number: {type: string, required: true, max_length: 20}
      status: {type: choice, options: [draft, issued, paid], default: draft}
      due: {type: date}
      net: {type: decimal, places: 2}
      rate: {type: decimal, places: 2, default: "0.19"}
      overdue:                            # true from the day after `due`, without a write
        type: bool
        compute: "record['status'] == 'issued' and record['due'] < today()"
        stored: sql
      days_late: {type: int, compute: "days_since(record['due']) if record['status'] == 'issued' else 0", stored: sql}
      gross: {type: decimal, places: 4, compute: "record['net'] + record['net'] * record['rate']", stored: sql}
    permissions:
      - {roles: [agent], actions: [read], scope: all}
pages:
  invoices:
    route: /invoices
    roles: [agent]
    blocks:
      - list: {entity: invoice, columns: [number, due, overdue, days_late, gross],
               filters: [overdue, status], sort: -days_late}
      - metrics:
          - {label: Overdue invoices, entity: invoice, where: {overdue: true}}
          - {label: Invoices by overdue, entity: invoice, group_by: overdue}
""",
)

SEQUENCE: Final = Example(
    "Gap-free numbers: a ticket reference that starts again each month.",
    """\
entities:
  ticket:
    fields:
      reference: {type: sequence, format: "T-{year}{month}-{seq:04d}", reset: monthly}   # T-202603-0007
""",
)


SECTIONS: Final[dict[str, tuple[Example, ...]]] = {
    "field": (FIELD_DERIVED, FIELD_LIVE),
    "fieldtype_sequence": (SEQUENCE,),
}

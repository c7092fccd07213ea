"""Examples shown in the definition reference, next to the section of the object they use.

Every example is a YAML fragment with top-level keys, and together they make one consistent
support-and-billing portal: a test merges them into a definition that must validate without a
single problem, so the reference never shows an example the validator would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Example:
    """A captioned YAML fragment of a definition."""

    caption: str
    yaml: str


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

TRANSITIONS: Final = Example(
    "Transitions with an assignee, a required comment, actions and a four-eyes approval.",
    """\
workflows:
  ticket_flow:
    entity: ticket
    field: status
    initial: open
    transitions:
      - {name: start, from: open, to: in_progress, roles: [agent], assignee_field: assignee}
      - name: resolve
        from: in_progress
        to: resolved
        roles: [agent]
        require: [resolution]
        comment: required                 # kept in the record's history
        actions:
          - set: {resolved_on: {expr: "today()"}}
          - notify: {template: ticket_resolved, to: [creator]}
      - name: refund
        from: resolved
        to: refunded
        roles: [agent]
        allow_self_approval: false        # whoever opened the ticket may not approve its refund
        approvals: {roles: [manager], count: 2}
""",
)

TIMERS: Final = Example(
    "Timers of the ticket workflow: an SLA escalation, and an automatic close.",
    """\
workflows:
  ticket_flow:
    timers:
      - name: urgent_sla                  # an urgent ticket nobody started within 4 hours
        state: open
        after: 4h
        when: "record['priority'] == 'urgent'"
        actions:
          - set: {escalated: true}
          - notify: {template: ticket_escalated, to: ["role:agent"]}
      - name: auto_close                  # resolved tickets close after two weeks
        state: resolved
        after: 2w
        transition: close
""",
)

ACTIONS: Final = Example(
    "All four actions, run in order when a ticket's priority is raised to urgent.",
    """\
automations:
  urgent_escalation:
    entity: ticket
    on: update
    when: "record['priority'] == 'urgent' and before['priority'] != 'urgent'"
    actions:
      - set: {escalated: true}
      - create:
          entity: message
          values: {ticket: {expr: "record['id']"}, text: "A specialist will call you today."}
      - notify: {template: ticket_escalated, to: [assignee, "role:agent"]}
      - webhook: {url: "${CRM_WEBHOOK_URL}", secret: "${CRM_WEBHOOK_SECRET}", event: ticket.urgent}
""",
)

AUTOMATIONS: Final = Example(
    "Automations on a record event, on a transition, taking a transition, and on a schedule.",
    """\
automations:
  welcome:
    entity: ticket
    on: create
    actions:
      - create: {entity: message, values: {ticket: {expr: "record['id']"}, text: "Thanks, we are on it."}}
  closed_survey:
    entity: ticket
    on: transition:close
    actions:
      - notify: {template: ticket_closed, to: [creator]}
  auto_close:
    entity: ticket
    on: update
    when: "record['status'] == 'resolved' and record['priority'] == 'low'"
    actions:
      - transition: close                 # taken by the system for whoever changed the ticket
      - notify: {template: ticket_closed, to: [account]}    # every user of the ticket's account
  weekly_reminder:
    entity: ticket
    on: {schedule: "0 8 * * 1"}           # Mondays at 08:00 UTC
    when: "record['status'] == 'open' and days_since(record['updated_at']) >= 7"
    limit: 500
    actions:
      - notify: {template: ticket_waiting, to: [assignee, "role:agent"]}
""",
)

SETTLE: Final = Example(
    "A bill that settles itself: each payment changes the `paid` rollup, and with it the "
    "stored `open_amount` — an update of the bill that its `on: update` automation sees.",
    """\
entities:
  bill:
    title_field: number
    fields:
      number: {type: string, required: true, max_length: 20}
      total: {type: money, required: true}
      paid: {type: money, rollup: sum, of: payment.amount, via: bill}
      open_amount: {type: money, compute: "record['total'] - record['paid']"}
      status: {type: choice, options: [issued, paid], default: issued}
  payment:
    fields:
      bill: {type: ref, to: bill, required: true}
      amount: {type: money, required: true}          # a refund is a negative amount
workflows:
  bill_flow: {entity: bill, field: status, initial: issued,
               transitions: [{name: settle, from: issued, to: paid, roles: [agent]}]}
automations:
  settle_when_paid:
    entity: bill
    on: update                            # audit entry of the change: "via rollup of payment"
    when: "record['open_amount'] <= 0 and record['status'] == 'issued'"
    actions:
      - transition: settle
""",
)

NOTIFICATIONS: Final = Example(
    "Notification templates, translated; `{{ link }}` is the URL of the record's page.",
    """\
notifications:
  ticket_resolved:
    label: {en: A ticket of mine was resolved, de: Ein Ticket von mir wurde gelöst}
    link: ticket
    subject: {en: "Resolved: {{ record.subject }}", de: "Gelöst: {{ record.subject }}"}
    body:
      en: |
        Hello {{ recipient.name }},
        {{ actor.name }} resolved your ticket "{{ record.subject }}".
        {{ link }}
      de: |
        Hallo {{ recipient.name }},
        {{ actor.name }} hat Ihr Ticket „{{ record.subject }}“ gelöst.
        {{ link }}
  ticket_escalated:
    link: ticket
    subject: "Escalated: {{ record.subject }}"
    body: "{{ record.subject }} needs attention: {{ link }}"
    email: false                          # in the portal's bell only
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

COPY: Final = Example(
    '"Open a similar ticket": a copy of the ticket with its messages, without its assignee '
    "and due date (the detail block offers it with `actions: [transitions, edit, copy]`).",
    """\
entities:
  ticket:
    copy:
      label: {en: Open a similar ticket, de: Ähnliches Ticket eröffnen}
      children: [message]                 # message.ticket points to the ticket
      reset: [assignee, due]
""",
)

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

#: The line before each example's fence: tests/test_docs_examples.py validates the example inside
#: the starter blueprint plus what the examples together presuppose (its `reference` context).
TEST_NOTE: Final = "<!-- docs-test: with reference -->"

#: Examples by the `$defs` section they illustrate, in the order they are shown.
EXAMPLES: Final[dict[str, tuple[Example, ...]]] = {
    "field": (FIELD_DERIVED, FIELD_LIVE),
    "transition": (TRANSITIONS,),
    "action": (ACTIONS,),
    "timer": (TIMERS,),
    "automation": (AUTOMATIONS, SETTLE),
    "notification": (NOTIFICATIONS,),
    "fieldtype_sequence": (SEQUENCE,),
    "copy": (COPY,),
    "metric": (METRICS,),
    "lookup": (LOOKUP,),
}


#: What the reference says about a built-in field type's values beyond its options: the input
#: forms it accepts and how it answers (kept next to the examples: text of the reference only).
FIELD_TYPE_NOTES: Final[dict[str, str]] = {
    "money": (
        "Input — in seed files, literal defaults, `set` and `create` values and API bodies — is "
        'one of: a number or decimal text (`12.50`, `"12.50"`), taken in the field\'s `currency` '
        "(else the portal's); text with the ISO 4217 code before or after the amount "
        '(`"12.50 USD"`, `"USD 12.50"`; the code in any case, at most 64 characters in '
        'all); or a mapping `{amount: "12.50", currency: USD}` whose `amount` is a number or '
        "decimal text and whose `currency` may be left out (the field's currency). Amounts "
        "written as text have no thousands separators or exponent; every amount is rounded "
        "half-even (banker's rounding) to the currency's minor units (JPY 0, EUR 2, KWD 3) "
        "when it is stored; expressions compute with every digit until then (see Money in "
        "expressions). The API answers "
        '`{"amount": "12.50", "currency": "EUR"}` (the amount as text, so no digit is '
        "lost); forms show an amount box and a currency list. Amounts are exact on every "
        "database: PostgreSQL stores `NUMERIC(18, 4)`, SQLite whole ten-thousandths as "
        "64-bit integers (`SCALED_DECIMAL(18, 4)`), so sums, sorting and filters never "
        "meet a binary fraction."
    ),
    "decimal": (
        "Values are exact on every database: PostgreSQL stores `NUMERIC(precision, places)`; "
        "SQLite, which has no decimal storage, stores whole units of the last place as 64-bit "
        "integers (`SCALED_DECIMAL(precision, places)`: 38.70 with `places: 2` is 3870), for "
        "up to 18 digits. A SQLite database deployed by an earlier release, whose decimal "
        "columns hold binary floats, is converted by its next deploy (a non-destructive "
        "type change in the plan); changing `places` later rescales the stored units, and "
        "refuses (`lossy-conversion`) when a value has more places than the new setting."
    ),
    "sequence": (
        "The record store numbers a record in the transaction that creates it (deploy "
        "`--seed` included): a create that fails or rolls back uses no number, and concurrent "
        "creates never share one (they take turns: the counter is locked until each create "
        "commits). Each period (`reset`) has its own counter, taken from the creation date in "
        "UTC. Nobody writes the value: forms do not offer it, the API refuses "
        "it (422 `not-writable`), workflow actions and seed files may not set it. Lists show, "
        "search and sort it as text — keep `{seq}` zero-padded (`{seq:05d}`) so numbers sort "
        "in order. The number is assigned as the new row is written, so rules and computed "
        "fields see it from the first update on, not while the record is created. Records "
        "that exist when the field is added are numbered by the deploy, oldest first, each in "
        "the period it was created in; changing "
        "`format` or `reset` later may produce numbers that are already taken (those creates "
        "are refused as not unique): raise `start` past them."
    ),
}


def example_lines(section: str) -> list[str]:
    """The Markdown of the examples of one section ([] when it has none)."""
    lines: list[str] = []
    for example in EXAMPLES.get(section, ()):
        lines += [f"Example — {example.caption}", "", TEST_NOTE, "```yaml"]
        lines += example.yaml.splitlines()
        lines += ["```", ""]
    return lines

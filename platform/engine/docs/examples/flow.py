"""Examples of workflows: transitions, timers, actions, automations, notifications and copies."""

from __future__ import annotations

from typing import Final

from .example import Example

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


SECTIONS: Final[dict[str, tuple[Example, ...]]] = {
    "transition": (TRANSITIONS,),
    "action": (ACTIONS,),
    "timer": (TIMERS,),
    "automation": (AUTOMATIONS, SETTLE),
    "notification": (NOTIFICATIONS,),
    "copy": (COPY,),
}

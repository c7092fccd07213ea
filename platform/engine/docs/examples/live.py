"""Examples of pages that stay current without a reload: `live_updates:` and `live: true`."""

from __future__ import annotations

from typing import Final

from .example import Example

LIVE_TICKET: Final = Example(
    "A ticket page whose conversation, status and transitions refresh while it is open, "
    "and a notification bell that counts new notifications on every page; open pages ask "
    "every 15 seconds (304 when nothing changed).",
    """\
live_updates: {interval_seconds: 15, bell: true}
pages:
  live_ticket:
    route: /live/tickets/<id>
    roles: [customer, agent]
    blocks:
      - detail: {entity: ticket, actions: [transitions], live: true}
      - list:
          entity: message
          parent: ticket                  # live lists are a record's children
          columns: [text, created_by, created_at]
          sort: created_at
          live: true                      # new messages appear, announced to screen readers
      - form: {entity: message, fields: [text], parent: ticket}
""",
)

#: Examples by the `$defs` section they illustrate.
SECTIONS: Final[dict[str, tuple[Example, ...]]] = {"live_updates": (LIVE_TICKET,)}

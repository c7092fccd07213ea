"""Examples of working on many records at once: bulk actions on a list."""

from __future__ import annotations

from typing import Final

from .example import Example

BULK: Final = Example(
    "An agents' desk: tick tickets, then start or close them, take them over, raise their "
    "priority or download them as CSV; each ticket is checked on its own and the result page "
    "names the ones refused and why.",
    """\
pages:
  ticket_desk:
    route: /desk
    roles: [agent]
    blocks:
      - list:
          entity: ticket
          columns: [subject, priority, status, assignee]
          filters: [status]
          link: ticket
          bulk:
            - transition: start
            - transition: close
            - {set: {assignee: $actor.id}, label: {en: Assign to me, de: Mir zuweisen, fr: "Me l'attribuer", es: Asignármelo}}
            - {set: {priority: high}, label: {en: Raise to high, de: Auf hoch setzen, fr: Passer en haute, es: Subir a alta}}
            - export
""",
)

#: Examples by the `$defs` section they illustrate.
SECTIONS: Final = {"block_list": (BULK,)}

"""Examples of entering many records at once: CSV import into a list."""

from __future__ import annotations

from typing import Final

from .example import Example

IMPORT: Final = Example(
    "Customers upload a spreadsheet of tickets: the columns are matched to fields by their "
    "headers (adjustable), a dry run names every refused row with its column and the form's "
    "error, then all rows are created in one transaction — files of more than `batch` rows "
    "run in the background, batch by batch, with a progress page. Accounts are named in the "
    "file by their name; a ticket always lands in the importer's own account.",
    """\
pages:
  ticket_upload:
    route: /tickets/upload
    title: {en: Upload tickets, de: Tickets hochladen, fr: Importer des tickets, es: Importar tickets}
    roles: [customer]
    blocks:
      - list:
          entity: ticket
          columns: [subject, priority, due]
          import:
            fields: [subject, body, priority, due, account]
            keys: {account: name}
            batch: 500
            max_size_mb: 5
            title: {en: Import tickets, de: Tickets importieren, fr: Importer des tickets, es: Importar tickets}
""",
)

#: Examples by the `$defs` section they illustrate.
SECTIONS: Final = {"block_list": (IMPORT,)}

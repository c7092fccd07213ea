"""Examples of entering many records at once: CSV import into a list, and quick entry of
a form's lines by SKU and quantity."""

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

QUICK: Final = Example(
    "Bulk ordering by SKU: besides the rows' table, the order form has a text box where the "
    "customer pastes `SKU quantity` lines (`P-100 12`); each line becomes an order line, an "
    "unknown SKU is an error on its own line, and the order is saved with its lines in one "
    "transaction.",
    """\
entities:
  part:
    title_field: name
    fields:
      sku: {type: string, required: true, unique: true, max_length: 20}
      name: {type: string, required: true}
    permissions:
      - {roles: [customer], actions: [read], scope: all}
  part_order:
    fields:
      account: {type: ref, to: account, required: true}
      note: {type: string}
    permissions:
      - {roles: [customer], actions: [read, create], scope: account}
  part_order_line:
    fields:
      part_order: {type: ref, to: part_order, required: true}
      part: {type: ref, to: part, required: true}
      quantity: {type: int, required: true, min: 1}
    permissions:
      - {roles: [customer], actions: [read, create], scope: {parent: part_order}}
pages:
  new_part_order:
    route: /parts/order
    roles: [customer]
    blocks:
      - form:
          entity: part_order
          fields: [note]
          lines:
            entity: part_order_line
            via: part_order
            fields: [part, quantity]
            min: 1
            max: 100
            quick: {field: part, key: sku, quantity: quantity}
""",
)

#: Examples by the `$defs` section they illustrate.
SECTIONS: Final = {"block_list": (IMPORT,), "block_form": (QUICK,)}

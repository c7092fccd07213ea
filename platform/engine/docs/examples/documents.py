"""Examples of documents kept with records: attachments with folders and versions."""

from __future__ import annotations

from typing import Final

from .example import Example

ATTACHMENTS: Final = Example(
    "A supplier contract keeps its contracts, price sheets and other papers in folders; each "
    "new upload of a document keeps the older versions. Buyers of the account read and "
    "download them, the contract's owner uploads, replaces and deletes.",
    """\
entities:
  supplier_contract:
    title_field: title
    fields:
      title: {type: string, required: true}
      account: {type: ref, to: account, required: true}
    attachments:
      folders:
        - {name: contracts, label: {en: Contracts, de: Verträge}}
        - {name: price_sheets, label: {en: Price sheets, de: Preislisten}}
        - other                                   # label "Other"
      types: [pdf, png, jpeg, docx, xlsx, csv, txt]
      max_size_mb: 20
      max_files: 50
      versions: true
    permissions:
      - {roles: [customer], actions: [read], scope: account}
      - {roles: [customer], actions: [create, update], scope: own}
pages:
  supplier_contract:
    route: /supplier-contracts/<id>
    roles: [customer]
    blocks:
      - detail: {entity: supplier_contract}
      - attachments: {entity: supplier_contract, title: {en: Documents, de: Dokumente}}
""",
)

SECTIONS: Final = {"attachments": (ATTACHMENTS,)}

"""Examples of related records: "related articles" under a help article."""

from __future__ import annotations

from typing import Final

from .example import Example

RELATED: Final = Example(
    "Related tutorials under each tutorial: those of the same topic first, ranked by how well "
    "their text matches the tutorial's title (the entity's full-text index), then other tutorials "
    "matching the title's words. Only tutorials the reader may read are ever listed — an "
    "unpublished tutorial of the same topic is never one — and the block shows nothing when "
    "no tutorial is related.",
    """\
entities:
  tutorial:
    title_field: title
    search: {fields: {title: 3, text: 1}}
    fields:
      title: {type: string, required: true, max_length: 200}
      topic: {type: choice, options: [setup, billing, security]}
      text: {type: markdown}
      published: {type: bool, default: false}
    permissions:
      - {roles: [anonymous, authenticated], actions: [read], scope: {where: {published: true}}}
      - {roles: [agent], actions: [read, create, update], scope: all}
pages:
  tutorial:
    route: /tutorials/<id>
    roles: [anonymous, authenticated]
    blocks:
      - detail: {entity: tutorial}
      - related: {entity: tutorial, same: [topic], limit: 5,
                  title: {en: Related tutorials, de: Verwandte Anleitungen}}
""",
)

SECTIONS: Final[dict[str, tuple[Example, ...]]] = {
    "block_related": (RELATED,),
}

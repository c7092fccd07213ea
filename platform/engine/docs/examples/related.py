"""Examples of related records: "related articles" under a help article."""

from __future__ import annotations

from typing import Final

from .example import Example

RELATED: Final = Example(
    "Related guides under each guide: those of the same topic first, ranked by how well "
    "their text matches the guide's title (the entity's full-text index), then other guides "
    "matching the title's words. Only guides the reader may read are ever listed — an "
    "unpublished guide of the same topic is never one — and the block shows nothing when "
    "no guide is related.",
    """\
entities:
  guide:
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
  guide:
    route: /guides/<id>
    roles: [anonymous, authenticated]
    blocks:
      - detail: {entity: guide}
      - related: {entity: guide, same: [topic], limit: 5,
                  title: {en: Related guides, de: Verwandte Anleitungen}}
""",
)

SECTIONS: Final[dict[str, tuple[Example, ...]]] = {
    "block_related": (RELATED,),
}

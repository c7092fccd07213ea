"""Examples of rich text and finding it: a `markdown` field shown on a page, a search box."""

from __future__ import annotations

from typing import Final

from .example import Example

MARKDOWN: Final = Example(
    "A how-to guide written in Markdown: its page renders the body sanitised (raw HTML stays "
    'text, links get `rel="nofollow noopener"`, images only from the portal), the list '
    "shows the first 120 characters as plain text, and the form offers a textarea.",
    """\
entities:
  guide:
    title_field: title
    fields:
      title: {type: string, required: true, max_length: 160}
      body:
        type: markdown
        max_length: 50000
        excerpt: 120                      # plain-text characters a list cell shows
        help: {en: "Headings with #, lists with -, links as [text](https://…)",
               de: "Überschriften mit #, Listen mit -, Links als [Text](https://…)"}
    permissions:
      - {roles: [anonymous, authenticated], actions: [read], scope: all}
      - {roles: [agent], actions: [create, update], scope: all}
pages:
  guides:
    route: /guides
    roles: [anonymous, authenticated]
    blocks:
      - list: {entity: guide, columns: [title, body], search: [title, body], link: guide}
  guide:
    route: /guides/<id>
    roles: [anonymous, authenticated]
    blocks:
      - detail: {entity: guide, fields: [title, body]}
""",
)

SEARCH: Final = Example(
    "A search box that opens the help centre's article list with the typed words (`?q=`).",
    """\
pages:
  start:
    route: /start
    roles: [anonymous, authenticated]
    blocks:
      - search_box:
          page: help                      # a page whose list has search:
          title: {en: Search the help centre, de: Hilfe durchsuchen}
          placeholder: {en: e.g. reset password, de: z. B. Passwort zurücksetzen}
""",
)

SECTIONS: Final[dict[str, tuple[Example, ...]]] = {
    "fieldtype_markdown": (MARKDOWN,),
    "block_search_box": (SEARCH,),
}

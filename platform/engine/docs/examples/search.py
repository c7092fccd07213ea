"""Examples of full-text search: an indexed entity, its list and the search block over it."""

from __future__ import annotations

from typing import Final

from .example import Example

SEARCH_INDEX: Final = Example(
    "A help centre's articles in a full-text index: a hit in the title ranks above one in "
    "the body; words match by stem in the portal's first locale (`resetting passwords` "
    "finds *Password reset*), and the agents' internal note is only searched for readers "
    "who may read it. The search block finds what each reader may read, with the matched "
    "words highlighted, each hit linking to the article's page.",
    """\
entities:
  help_article:
    title_field: title
    search:
      fields: {title: 4, summary: 2, body: 1, agent_note: 1}
    fields:
      title: {type: string, required: true, max_length: 200}
      summary: {type: string, max_length: 300}
      body: {type: text}
      agent_note: {type: text}
    permissions:
      - {roles: [anonymous, authenticated], actions: [read], scope: all,
         fields: {except: [agent_note]}}
      - {roles: [agent], actions: [read, create, update], scope: all}
pages:
  help_articles:
    route: /kb
    roles: [anonymous, authenticated]
    blocks:
      - list: {entity: help_article, columns: [title, updated_at], search: [title],
               link: help_article}       # ?q= ranks by relevance unless the reader sorts
  help_article:
    route: /kb/<id>
    roles: [anonymous, authenticated]
    blocks:
      - detail: {entity: help_article}
  help_search:
    route: /kb/search
    roles: [anonymous, authenticated]
    blocks:
      - search:                          # hits the reader may read, best first, highlighted
          entities: [help_article]
          links: {help_article: help_article}
          limit: 10
          label: {en: Search the help centre, de: Hilfe durchsuchen}
""",
)

SECTIONS: Final[dict[str, tuple[Example, ...]]] = {
    "entity": (SEARCH_INDEX,),
}

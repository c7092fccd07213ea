"""Examples of reader feedback: "Was this helpful?" under a help article."""

from __future__ import annotations

from typing import Final

from .example import Example

FEEDBACK: Final = Example(
    "Was this helpful? under each FAQ entry: anyone who may read the entry answers yes or "
    "no — once per signed-in user or visitor's session, changeable by answering again — "
    "and the editors who may update the entry see how many readers found it helpful.",
    """\
entities:
  faq_entry:
    title_field: question
    fields:
      question: {type: string, required: true, max_length: 200}
      answer: {type: markdown}
    permissions:
      - {roles: [anonymous, authenticated], actions: [read], scope: all}
      - {roles: [agent], actions: [create, update], scope: all}
pages:
  faq_entry:
    route: /faq/<id>
    roles: [anonymous, authenticated]
    blocks:
      - detail: {entity: faq_entry}
      - feedback:
          entity: faq_entry
          question: {en: Did this answer your question?, de: Hat das Ihre Frage beantwortet?}
""",
)

SECTIONS: Final[dict[str, tuple[Example, ...]]] = {
    "block_feedback": (FEEDBACK,),
}

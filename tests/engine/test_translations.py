"""A label missing a declared locale is a warning (the default locale's text is shown)."""

from __future__ import annotations

from portalis.engine.definition.bundle import Bundle
from portalis.engine.problems import Severity

PORTAL = """format: portalis/v1
portal: words
title: {en: Words, de: Wörter}
locales: [en, de, fr]
entities:
  note:
    label: {en: Note, de: Notiz, fr: Note}
    fields:
      body: {type: text, label: {en: Text}}
pages:
  home:
    route: /
    roles: [anonymous]
    blocks:
      - markdown: {en: "# Hi", de: "# Hallo"}
"""


def test_missing_translations_are_warnings(portalis_checker) -> None:
    checked = portalis_checker.check_bundle(Bundle.of({"portal.yaml": PORTAL}), {})
    assert checked.report.ok and checked.model is not None  # warnings never block
    found = {
        (p.path_text, p.message, p.line)
        for p in checked.report.problems
        if p.code == "translation-missing"
    }
    assert found == {
        ("title", "no fr text", 3),
        ("entities.note.fields.body.label", "no de, fr text", 9),
        ("pages.home.blocks[0].markdown", "no fr text", 15),
    }
    assert all(p.severity is Severity.WARNING for p in checked.report.problems)
    # the fallback at run time: the default locale's text
    assert checked.model.entities["note"].fields["body"].label.get("fr", "en") == "Text"

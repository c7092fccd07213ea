"""The `search_box` block's checks: its page must list records and search them."""

from __future__ import annotations

from portalis.engine.definition.block_configs import SearchBoxBlock
from portalis.engine.definition.bundle import Bundle
from portalis.engine.deploy.validator import Checker
from portalis.engine.problems import Problem

DEFINITION = """\
format: portalis/v1
portal: search-test
title: Search
locales: [en]
entities:
  faq:
    title_field: question
    fields:
      question: {type: string, required: true}
    permissions:
      - {roles: [anonymous], actions: [read], scope: all}
pages:
  home:
    route: /
    roles: [anonymous]
    blocks:
      - search_box: {page: faqs, placeholder: {en: e.g. opening hours}}
  faqs:
    route: /faqs
    roles: [anonymous]
    blocks:
      - list: {entity: faq, columns: [question], search: [question], link: faq}
  faq:
    route: /faqs/<id>
    roles: [anonymous]
    blocks:
      - detail: {entity: faq}
"""


def check(checker: Checker, text: str) -> tuple[list[Problem], object]:
    checked = checker.check_bundle(Bundle.of({"portal.yaml": text}))
    errors = [p for p in checked.report.problems if p.severity.value == "error"]
    return errors, checked.model


def test_search_box_block_compiles(portalis_checker: Checker) -> None:
    problems, model = check(portalis_checker, DEFINITION)
    assert problems == []
    config = model.pages["home"].blocks[0].config  # type: ignore[attr-defined]
    assert isinstance(config, SearchBoxBlock) and config.page == "faqs"


def test_search_box_block_on_a_record_page_is_refused(portalis_checker: Checker) -> None:
    problems, _ = check(portalis_checker, DEFINITION.replace("page: faqs,", "page: faq,"))
    assert [(p.code, p.line) for p in problems] == [("block-route", 17)]


def test_search_box_block_needs_a_searching_list(portalis_checker: Checker) -> None:
    problems, _ = check(portalis_checker, DEFINITION.replace(", search: [question]", ""))
    assert [(p.code, p.line) for p in problems] == [("block-option", 17)]


def test_search_box_block_unknown_page(portalis_checker: Checker) -> None:
    problems, _ = check(portalis_checker, DEFINITION.replace("page: faqs,", "page: fags,"))
    assert problems and problems[0].line == 17

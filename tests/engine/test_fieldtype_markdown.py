"""The `markdown` field type: options, validation, cleaning and its JSON schema."""

from __future__ import annotations

from typing import Any

import pytest

from portalis.engine.definition.bundle import Bundle
from portalis.engine.definition.fields import FieldValueError
from portalis.engine.definition.fieldtypes import MarkdownConfig, MarkdownType
from portalis.engine.definition.model import Field
from portalis.engine.definition.values import Label
from portalis.engine.deploy.validator import Checker
from portalis.engine.problems import Problem

KIND = MarkdownType()


def field(options: dict[str, Any] | None = None) -> Field:
    return Field(
        name="body",
        type="markdown",
        label=Label.of("Body"),
        kind=KIND,
        config=KIND.make_config(options or {}, currency="EUR"),
    )


def test_markdown_keeps_source_with_normalized_line_breaks() -> None:
    value = KIND.clean(field(), "  # Title\r\n\r\n- one\r- two  \n")
    assert value == "# Title\n\n- one\n- two"


def test_markdown_blank_is_none_and_numbers_are_refused() -> None:
    assert KIND.clean(field(), "   \n ") is None
    with pytest.raises(FieldValueError) as err:
        KIND.clean(field(), 12)
    assert err.value.code == "type"


def test_markdown_max_length_counts_the_source() -> None:
    limited = field({"max_length": 10})
    assert KIND.clean(limited, "**bold**") == "**bold**"
    with pytest.raises(FieldValueError) as err:
        KIND.clean(limited, "**bolder** text")
    assert err.value.code == "too-long"


def test_markdown_refuses_control_characters() -> None:
    with pytest.raises(FieldValueError) as err:
        KIND.clean(field(), "a\x00b")
    assert err.value.code == "format"


def test_markdown_config_and_schema() -> None:
    config = KIND.make_config({"max_length": 2000, "excerpt": 80}, currency="EUR")
    assert config == MarkdownConfig(max_length=2000, excerpt=80)
    assert KIND.json_schema(field({"max_length": 2000})) == {
        "type": "string",
        "maxLength": 2000,
        "contentMediaType": "text/markdown",
    }
    assert not KIND.sortable and not KIND.filterable and KIND.searchable


DEFINITION = """\
format: portalis/v1
portal: kb-test
title: KB test
locales: [en]
entities:
  page_doc:
    fields:
      title: {type: string, required: true}
      body: {type: markdown, max_length: 5000, excerpt: 120}
"""


def problems_of(checker: Checker, text: str) -> list[Problem]:
    checked = checker.check_bundle(Bundle.of({"portal.yaml": text}))
    return [p for p in checked.report.problems if p.severity.value == "error"]


def test_markdown_field_in_a_definition_validates(portalis_checker: Checker) -> None:
    assert problems_of(portalis_checker, DEFINITION) == []


def test_markdown_excerpt_out_of_range_is_a_problem_with_location(
    portalis_checker: Checker,
) -> None:
    bad = DEFINITION.replace("excerpt: 120", "excerpt: 5")
    problems = problems_of(portalis_checker, bad)
    assert problems, "an excerpt below 20 characters must be refused"
    assert any("excerpt" in "/".join(map(str, p.path)) and p.line == 9 for p in problems)

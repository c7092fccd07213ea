"""Examples shown in the definition reference, next to the section of the object they use.

Every example is a YAML fragment with top-level keys, and together they make one consistent
support-and-billing portal: a test merges them into a definition that must validate without a
single problem, so the reference never shows an example the validator would refuse. Each module
holds the examples of one concept and names the `$defs` sections they illustrate (`SECTIONS`);
a new concept adds a module and one entry to `_MODULES`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from . import (
    accounts,
    bookings,
    bulk,
    documents,
    feedback,
    fields,
    flow,
    imports,
    live,
    payments,
    printouts,
    related,
    reporting,
    richtext,
    search,
)
from .example import Example
from .notes import FIELD_TYPE_NOTES

_MODULES: Final = (
    accounts,
    fields,
    flow,
    live,
    reporting,
    bulk,
    imports,
    documents,
    printouts,
    search,
    richtext,
    feedback,
    related,
    bookings,
    payments,
)

#: The line before each example's fence: tests/test_docs_examples.py validates the example inside
#: the starter blueprint plus what the examples together presuppose (its `reference` context).
TEST_NOTE: Final = "<!-- docs-test: with reference -->"


def _collect() -> dict[str, tuple[Example, ...]]:
    merged: dict[str, tuple[Example, ...]] = {}
    for module in _MODULES:
        for section, examples in module.SECTIONS.items():
            merged[section] = merged.get(section, ()) + examples
    return merged


#: Examples by the `$defs` section they illustrate, in the order they are shown.
EXAMPLES: Final = MappingProxyType(_collect())


def example_lines(section: str) -> list[str]:
    """The Markdown of the examples of one section ([] when it has none)."""
    lines: list[str] = []
    for example in EXAMPLES.get(section, ()):
        note = f"<!-- docs-test: {example.note} -->" if example.note else TEST_NOTE
        lines += [f"Example — {example.caption}", "", note, "```yaml"]
        lines += example.yaml.splitlines()
        lines += ["```", ""]
    return lines


__all__ = ["EXAMPLES", "FIELD_TYPE_NOTES", "TEST_NOTE", "Example", "example_lines"]

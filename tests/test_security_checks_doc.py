"""Every security or reliability ID a test name carries can be looked up in
docs/security-checks.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "security-checks.md"
TAG = re.compile(r"def test_(a\d+|asvs(?:_\d+)+|r\d+|sandbox_b\d+)_")


def tagged_ids() -> set[str]:
    """The ID tags of every test function in the repository's tests and plugins."""
    found: set[str] = set()
    for folder in (ROOT / "tests", ROOT / "plugins"):
        for path in folder.rglob("test_*.py"):
            found.update(TAG.findall(path.read_text(encoding="utf-8")))
    return found


def section(text: str, letter: str) -> str:
    """The text of section `letter` (A, B or C) of the checklist."""
    match = re.search(rf"^## {letter}\..*?(?=^## |\Z)", text, re.S | re.M)
    assert match, f"section {letter} is missing"
    return match.group(0)


def test_every_tagged_id_is_in_the_checklist() -> None:
    text = DOC.read_text(encoding="utf-8")
    a, b, c = section(text, "A"), section(text, "B"), section(text, "C")
    items_a = {int(n) for n in re.findall(r"^(\d+)\. ", a, re.M)}
    items_b = {int(n) for n in re.findall(r"^(\d+)\. ", b, re.M)}
    items_c = {int(n) for n in re.findall(r"^R(\d+) ", c, re.M)}
    assert items_a == set(range(1, 47)) and items_b == set(range(1, 14))
    assert items_c == set(range(1, 17))
    tags = tagged_ids()
    assert len(tags) > 50  # the suite is tagged; a broken pattern would find nothing
    unknown = []
    for tag in sorted(tags):
        if tag.startswith("asvs_"):
            parts = tag.removeprefix("asvs_").split("_")
            # "5.2.1" is covered by an item naming 5.2.1 or the group "5.2.x"
            names = [".".join(parts)] + [".".join(parts[:k]) + ".x" for k in range(1, len(parts))]
            ok = any(re.search(rf"(?<![\d.]){re.escape(n)}(?![\d])", a) for n in names)
        elif tag.startswith("sandbox_b"):
            ok = int(tag.removeprefix("sandbox_b")) in items_b
        elif tag.startswith("a"):
            ok = int(tag[1:]) in items_a
        else:
            ok = int(tag[1:]) in items_c
        if not ok:
            unknown.append(tag)
    assert not unknown, f"test names refer to IDs the checklist does not have: {unknown}"

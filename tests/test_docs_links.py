"""Every relative link of the documentation leads somewhere: the file exists (a guide's
screenshots included) and a `#fragment` into a Markdown file names one of its headings.

Documents: README.md, docs/*.md and the READMEs of blueprints/* and plugins/*. Links inside
fenced code blocks are examples, not links; absolute URLs (`https:`, `mailto:`) are not
followed. Heading anchors follow GitHub's rule: lower case, punctuation dropped, spaces
become `-`, and a repeated heading gets `-1`, `-2`, ….
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted(ROOT.glob("blueprints/*/README.md")),
    *sorted(ROOT.glob("plugins/*/README.md")),
]
_FENCED = re.compile(r"^\s*```.*?^\s*```", re.M | re.S)
_HEADING = re.compile(r"^#{1,6} +(.+?) *#*$", re.M)
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def _prose(text: str) -> str:
    """The text without its fenced code blocks."""
    return _FENCED.sub("", text)


def heading_anchor(heading: str) -> str:
    """GitHub's anchor of a heading's text."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())  # a link's words
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors_of(text: str) -> set[str]:
    """The anchors of a Markdown text's headings (repeats numbered like GitHub)."""
    seen: dict[str, int] = {}
    found = set()
    for match in _HEADING.finditer(_prose(text)):
        anchor = heading_anchor(match[1])
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(anchor if count == 0 else f"{anchor}-{count}")
    return found


@cache
def _anchors(path: Path) -> frozenset[str]:
    return frozenset(anchors_of(path.read_text(encoding="utf-8")))


def broken_links(document: Path) -> list[str]:
    """The relative links of `document` that lead nowhere, as `target: why`."""
    broken = []
    for match in _LINK.finditer(_prose(document.read_text(encoding="utf-8"))):
        target = match[1]
        if _SCHEME.match(target):
            continue
        file, _, fragment = target.partition("#")
        path = (document.parent / file).resolve() if file else document
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif fragment and path.suffix == ".md" and fragment not in _anchors(path):
            broken.append(f"{target}: no heading with this anchor")
    return broken


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_somewhere(document: Path) -> None:
    assert broken_links(document) == []


def test_anchors_follow_githubs_rule() -> None:
    text = (
        "# Guide\n## 7.1 Entities and fields\n## 3. The start page and a portal's page\n"
        "### `portalis deploy` flags\n### `block_list`\n## Notes\n## Notes\n```\n## not a heading\n```\n"
    )
    assert anchors_of(text) == {
        "guide",
        "71-entities-and-fields",
        "3-the-start-page-and-a-portals-page",
        "portalis-deploy-flags",
        "block_list",
        "notes",
        "notes-1",
    }


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n## Part 1\n", encoding="utf-8")
    (tmp_path / "shot.png").write_bytes(b"")
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# Doc\n[ok](other.md#part-1) ![ok](shot.png) [ok](#doc) [web](https://example.com)\n"
        "[bad](other.md#part-2) ![bad](missing.png) [bad](#nowhere)\n"
        "```\n[example](not-checked.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(doc) == [
        "other.md#part-2: no heading with this anchor",
        "missing.png: no such file",
        "#nowhere: no heading with this anchor",
    ]

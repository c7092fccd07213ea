"""The markdown block: localized, sanitized by an allow-list (SECURITY A.32), rendered once."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from portalis.runtime.blocks import markdown
from portalis.runtime.blocks.markdown import render_markdown
from portalis.testing.web import WebPortal

NOTES = Path(__file__).parent / "data" / "blocks_notes"
HOSTILE = r"""# Welcome <script>alert('h1')</script>

<script>alert(1)</script>
<img src=x onerror=alert(2)>
<iframe src="https://evil.example"></iframe>

[js](javascript:alert(3)) [mixed](JaVaScRiPt:alert(4)) [data](data:text/html;base64,PHNjcmlwdD4=)
[ok](https://example.org "Example") [mail](mailto:help@example.org) [rel](/acme/tickets)

![http](http://evil.example/x.png) ![https](https://cdn.example/x.png) ![local](/logo.png)
![js](javascript:alert(5))

| a | b |
|---|---|
| **1** | `2` |
"""


@pytest.fixture
def hostile(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    folder = tmp_path / "definition"
    shutil.copytree(NOTES, folder)
    portal_yaml = folder / "portal.yaml"
    text = portal_yaml.read_text()
    start = text.index("      - markdown:")
    end = text.index("  notes:")
    block = "      - markdown: |\n" + "".join(
        f"          {line}\n" for line in HOSTILE.splitlines()
    )
    portal_yaml.write_text(text[:start] + block + text[end:])
    portal = WebPortal.deploy(database_url, tmp_path / "instance", folder)
    yield portal
    portal.close()


def main_html(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def test_asvs_1_3_1_markdown_sanitized(hostile: WebPortal) -> None:
    response = hostile.client().get("/")
    assert response.status_code == 200
    html = main_html(response.text)
    assert "<script" not in html and "<iframe" not in html
    assert "<img src=x" not in html and "onerror=" not in html.replace("onerror=alert(2)&gt;", "")
    for attribute in ("href", "src"):
        for scheme in ("javascript:", "data:", "http://evil"):
            assert f'{attribute}="{scheme}' not in html.lower()
    assert '<a href="https://example.org" title="Example" rel="noopener">ok</a>' in html
    assert '<a href="mailto:help@example.org" rel="noopener">mail</a>' in html
    assert '<a href="/acme/tickets" rel="noopener">rel</a>' in html
    assert '<img src="https://cdn.example/x.png" alt="https">' in html
    assert '<img src="/logo.png" alt="local">' in html
    assert '<img alt="http">' in html  # http image sources are dropped
    assert "<table>" in html and "<strong>1</strong>" in html and "<code>2</code>" in html
    assert "<h1>Welcome &lt;script&gt;" in html


def test_asvs_1_3_1_render_markdown_unit() -> None:
    html = render_markdown(
        '<a href="javascript:x">a</a> [b](vbscript:x) ![c](data:image/png;base64,AA)'
    )
    assert "<a " not in html  # neither link became an element (the HTML one is text)
    assert "&lt;a href=" in html and 'src="data:' not in html
    assert render_markdown("*em* __strong__") == "<p><em>em</em> <strong>strong</strong></p>\n"


def test_markdown_localized_and_rendered_once(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = WebPortal.deploy(database_url, tmp_path)
    try:
        calls: list[str] = []
        real = markdown.render_markdown

        def counting(text: str) -> str:
            calls.append(text)
            return real(text)

        monkeypatch.setattr(markdown, "render_markdown", counting)
        visitor = web.client()
        assert "<h1>How can we help?</h1>" in visitor.get("/").text
        assert "<h1>Wie können wir helfen?</h1>" in visitor.get("/?lang=de").text
        for _ in range(3):
            visitor.get("/")
            visitor.get("/?lang=de")
        assert len(calls) == 2  # once per locale
    finally:
        web.close()

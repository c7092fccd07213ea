"""`markdown` fields on pages: sanitised HTML on detail pages (SECURITY A.32), plain-text
excerpts in lists, a textarea with help in forms, and one render per record version."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from portalis.runtime import richtext
from portalis.runtime.richtext import RenderedCache, plain_excerpt, render_record_markdown
from portalis.testing.web import WebPortal

DOCS = Path(__file__).parent / "data" / "kb_docs"


@pytest.fixture
def docs(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance", DOCS)
    yield portal
    portal.close()


def main_html(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def test_asvs_1_3_1_markdown_field_sanitized_on_detail(docs: WebPortal) -> None:
    doc = docs.record_id("doc_page", title="Hostile")
    response = docs.client().get(f"/docs/{doc}")
    assert response.status_code == 200
    html = main_html(response.text)
    assert "<script" not in html and "<iframe" not in html and "<b " not in html
    assert "onerror=" not in html.replace("onerror=alert(2)&gt;", "")
    assert "onclick=" not in html.replace('onclick="alert(3)"&gt;', "").replace(
        "onclick=&quot;alert(3)&quot;&gt;", ""
    )
    assert 'href="javascript' not in html.lower()
    assert "<h1>Setup &lt;script&gt;" in html
    assert '<a href="https://example.org" rel="nofollow noopener">site</a>' in html
    assert '<img src="/docs-test/logo.png" alt="local">' in html
    # remote, protocol-relative and data images are dropped: only the portal's own origin
    assert "cdn.example" not in html and 'src="data:' not in html
    assert '<img alt="remote">' in html and '<img alt="proto">' in html
    assert "<strong>important</strong>" in html


def test_markdown_list_cell_is_a_plain_text_excerpt(docs: WebPortal) -> None:
    html = main_html(docs.client().get("/").text)
    cell = html[html.index("Setup") - 200 : html.index("Setup") + 200]
    assert "<strong>" not in cell and "**" not in cell and "<h1>" not in cell
    assert "Setup &lt;script&gt;alert(&#39;h1&#39;)&lt;/script&gt;" in cell
    assert "…" in html  # cut to the field's `excerpt` (60 characters)


def test_markdown_form_is_a_textarea_with_help(docs: WebPortal) -> None:
    html = docs.client("wes@docs.test").get("/docs/new").text
    assert '<textarea id="b0-body" name="body" rows="12" aria-describedby="b0-body-help"' in html
    assert "Markdown is accepted" in html


def test_markdown_rendered_once_per_record_version(
    docs: WebPortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def counting(source: str) -> str:
        calls.append(source)
        return render_record_markdown(source)

    monkeypatch.setattr(richtext, "render_record_markdown", counting)
    doc = docs.record_id("doc_page", title="Hostile")
    reader = docs.client()
    first, second = reader.get(f"/docs/{doc}"), docs.client().get(f"/docs/{doc}")
    assert first.status_code == second.status_code == 200
    assert main_html(first.text) == main_html(second.text)
    assert len(calls) == 1  # the second request (another visitor) used the cached HTML
    writer = docs.actor("wes@docs.test")
    docs.store.update(writer, "doc_page", doc, {"body": "Changed **now**"})
    html = main_html(reader.get(f"/docs/{doc}").text)
    assert "Changed <strong>now</strong>" in html
    assert len(calls) == 2  # a new version renders afresh
    reader.get(f"/docs/{doc}")
    assert len(calls) == 2


def test_rendered_cache_is_bounded() -> None:
    cache = RenderedCache(size=3)
    for version in range(1, 6):
        cache.html("doc_page", 1, "body", version, f"v{version}")
    assert len(cache) == 3
    assert cache.html("doc_page", 1, "body", 5, "ignored") == "<p>v5</p>\n"


def test_plain_excerpt_drops_markup_and_cuts_at_a_word() -> None:
    source = "# Title\n\n- **one** item\n- `code` and [a link](https://x.test)\n\n<b>raw</b>"
    assert plain_excerpt(source, 200) == "Title one item code and a link <b>raw</b>"
    assert plain_excerpt("alpha beta gamma delta epsilon", 20) == "alpha beta gamma…"

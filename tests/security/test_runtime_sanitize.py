"""SECURITY A.32 (ASVS 1.3.1/1.3.5): Markdown sanitized, custom CSS refused or neutralised.

A copy of b2c gets hostile Markdown on its home page and custom CSS that the validator lets
through but the serving pass must neutralise (remote and script URLs); the constructs the
validator refuses (`</style`, `@import`, `url(javascript:`, `expression(`, `behavior:`,
`-moz-binding`) are checked on the definition and on the sanitizer itself. User-entered
ticket text is shown escaped. CSS is always served as `text/css` from its own URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_runtime_support import B2C, b2c_copy, deploy

from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.deploy.validator import Checker
from portalis.runtime.theme import sanitize_css
from portalis.testing.web import WebPortal

HOSTILE_MARKDOWN = """\
# Hello <script>alert('title')</script>

<script>alert(1)</script>
<img src=x onerror=alert(2)>
<iframe src="https://evil.example"></iframe>
<a href="javascript:alert(3)">raw link</a>
<svg onload=alert(4)></svg>

[js](javascript:alert(5)) [JS](JaVaScRiPt:alert(6)) [data](data:text/html;base64,PHNjcmlwdD4=)
[vb](vbscript:msgbox) [ok](https://example.org) ![pix](javascript:alert(7))
"""
#: Lines the validator accepts but the served stylesheet must drop.
SERVED_BUT_NEUTRALISED = (
    ".track { background: url(https://tracker.example/pixel.png); }",
    ".vb { background: url(vbscript:msgbox(1)); }",
    '.page { background: url("data:text/html;base64,PHNjcmlwdD4="); }',
    ".spaced { background: url( 'http://evil.example/x.png' ); }",
)
KEPT = (
    ".safe-rule { color: #123456; }",
    ".inline-img { background: url(data:image/png;base64,iVBORw0KGgo=); }",
)
#: Each of these makes the definition invalid (asset-unsafe) and is dropped when served.
REFUSED = (
    "</style><script>alert(1)</script>",
    "@import url(https://evil.example/x.css);",
    '@IMPORT "https://evil.example/x.css";',
    ".x { background: url(javascript:alert(1)); }",
    ".x { width: expression(alert(1)); }",
    ".x { behavior: url(x.htc); }",
    ".x { -moz-binding: url(x.xml#xss); }",
)
#: CSS escapes the browser decodes: `@imp\\ort` is an @import to Chromium (checked by hand
#: with the Debian Chromium of the browser tests).
ESCAPED_IMPORTS = ('@imp\\ort "/acme-support/_files/x";', '@\\69mport "/acme-support/x";')


def with_markdown_and_css(css: str):  # noqa: ANN201 - an edit callback
    def edit(folder: Path) -> None:
        public = folder / "pages" / "public.yaml"
        lines = public.read_text(encoding="utf-8").splitlines()
        start = next(i for i, line in enumerate(lines) if "- markdown:" in line)
        block = ["      - markdown: |"] + [
            f"          {line}" for line in HOSTILE_MARKDOWN.splitlines()
        ]
        public.write_text("\n".join(lines[:start] + block) + "\n", encoding="utf-8")
        (folder / "assets" / "portal.css").write_text(css, encoding="utf-8")

    return edit


@pytest.fixture
def hostile(sqlite_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    css = "\n".join([*KEPT, *SERVED_BUT_NEUTRALISED]) + "\n"
    folder = b2c_copy(tmp_path / "hostile", with_markdown_and_css(css))
    portal = deploy(sqlite_url, tmp_path / "instance", folder)
    yield portal
    portal.close()


def css_problems(checker: Checker, css: str) -> list[str]:
    bundle, _ = read_bundle(B2C)
    files = dict(bundle.files)
    files["assets/portal.css"] = css
    report = checker.check_bundle(Bundle.of(files), {}).report
    return [f"{p.code}@{p.file}:{p.path_text}" for p in report.errors]


def main_html(text: str) -> str:
    return text[text.index("<main") : text.index("</main>")]


class Elements(HTMLParser):
    """Tags and attributes of an HTML fragment, as a browser would parse them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str, str]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend((tag, name, value or "") for name, value in attrs)


#: A script of the portal's own static files: no inline code, no attribute but `src`/`defer`.
OWN_SCRIPT = re.compile(r'<script src="/_static/[\w-]+\.js" defer></script>')


def assert_inert(fragment: str) -> None:
    """No script-capable element, handler attribute or script/data URL in `fragment` (the
    portal's own static scripts — the live-updates poller, the bulk selection — excepted)."""
    found = Elements(OWN_SCRIPT.sub("", fragment))
    assert not found.tags & {"script", "iframe", "svg", "style", "object", "embed", "b"}, found.tags
    for tag, name, value in found.attributes:
        assert not name.startswith("on"), (tag, name, value)
        if name in ("href", "src", "action", "formaction"):
            scheme = value.strip().lower().split(":", 1)[0]
            assert scheme not in ("javascript", "vbscript", "data"), (tag, name, value)


def test_asvs_1_3_1_markdown_and_css_sanitized(
    hostile: WebPortal, portalis_checker: Checker
) -> None:
    # -- markdown from the definition ------------------------------------------------------
    page = hostile.client().get("/")
    assert page.status_code == 200
    body = main_html(page.text)
    assert_inert(body)
    assert ("a", "href", "https://example.org") in Elements(body).attributes
    assert "<h1>Hello &lt;script&gt;" in body
    # -- user content (a ticket's text) is escaped wherever it is shown ---------------------
    ben = hostile.client("ben@acme.test")
    created = ben.post(
        "/tickets/new",
        {
            "_block": "0",
            "subject": "<script>alert('s')</script>",
            "body": "<img src=x onerror=alert(1)> [x](javascript:alert(1)) <b>bold</b>",
        },
    )
    assert created.status_code == 303
    ticket = created.headers["Location"].split("/acme-support", 1)[1]
    for path in (ticket, "/tickets", f"{ticket}/edit"):
        assert_inert(main_html(ben.get(path).text))
    assert "&lt;script&gt;alert(" in ben.get(ticket).text

    # -- custom CSS: own URL, text/css, neutralised ---------------------------------------------
    assert 'rel="stylesheet" href="/acme-support/_theme.css?v=' in page.text
    assert "<style" not in page.text  # never inlined (the CSP has no unsafe-inline)
    css = hostile.client().get("/_theme.css")
    assert css.status_code == 200
    assert css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert css.headers["X-Content-Type-Options"] == "nosniff"
    for line in KEPT:
        assert line in css.text
    for line in SERVED_BUT_NEUTRALISED:
        assert line not in css.text
    for marker in ("tracker.example", "vbscript:", "data:text/html", "evil.example"):
        assert marker not in css.text

    # -- what the validator refuses, and the sanitizer drops ------------------------------------
    assert css_problems(portalis_checker, "\n".join(KEPT + SERVED_BUT_NEUTRALISED)) == []
    for line in REFUSED:
        assert css_problems(portalis_checker, f".a {{ color: red; }}\n{line}\n") == [
            "asset-unsafe@portal.yaml:theme.css"
        ], line
        cleaned = sanitize_css(f".a {{ color: red; }}\n{line}\n.b {{ color: blue; }}")
        assert line not in cleaned and ".a { color: red; }" in cleaned and ".b" in cleaned
        for token in ("</style", "@import", "javascript:", "expression(", "behavior", "binding"):
            assert token not in cleaned.lower(), (line, cleaned)


def test_asvs_1_3_5_css_escapes_refused(portalis_checker: Checker) -> None:
    for line in ESCAPED_IMPORTS:
        refused = css_problems(portalis_checker, line) == ["asset-unsafe@portal.yaml:theme.css"]
        neutralised = "mport" not in sanitize_css(line)
        assert refused and neutralised, line

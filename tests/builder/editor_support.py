"""Set-up of the editor tests: a draft of the served starter blueprint, a signed-in editor,
and the exact textual change a save made. This module holds no tests."""

from __future__ import annotations

import difflib
import re
from html.parser import HTMLParser

from builder_support import BuilderBrowser, add_account
from flask import Flask

from portalis.engine import drafts
from portalis.testing.web import WebPortal

EDITOR = "editor@example.test"
_BASE = re.compile(r'name="base_revision" value="(\d+)"')


def new_draft(web: WebPortal) -> int:
    """A draft of the served portal's live version (the starter blueprint)."""
    return drafts.draft_from_live(web.engine, web.slug, name="work").id


def signed_in(
    web: WebPortal, email: str = EDITOR, rights: tuple[str, ...] = ("edit",)
) -> BuilderBrowser:
    """A builder browser signed in as a new account with `rights` on the portal."""
    add_account(web.engine, email, portals=(web.slug,), rights=rights)
    browser = BuilderBrowser(web.app)
    browser.sign_in(email)
    return browser


def base_of(page: str) -> str:
    """The revision a rendered editor page's forms are based on."""
    found = _BASE.search(page)
    assert found, page
    return found.group(1)


def text_diff(web: WebPortal, draft: int, a: int, b: int) -> dict[str, list[str]]:
    """file → the unified diff without context from revision `a` to `b` (hunk headers with
    line numbers, `-old` and `+new` lines)."""
    old = drafts.revision_bundle(web.engine, draft, a).files
    new = drafts.revision_bundle(web.engine, draft, b).files
    out: dict[str, list[str]] = {}
    for path in sorted(set(old) | set(new)):
        if old.get(path) == new.get(path):
            continue
        lines = difflib.unified_diff(
            old.get(path, "").splitlines(), new.get(path, "").splitlines(), n=0, lineterm=""
        )
        out[path] = [line for line in lines if not line.startswith(("---", "+++"))]
    return out


class _FormReader(HTMLParser):
    """The values a browser would submit from the first form matching `attr=value`."""

    def __init__(self, attr: str, value: str) -> None:
        super().__init__()
        self.want = (attr, value)
        self.inside = False
        self.done = False
        self.values: list[tuple[str, str]] = []
        self.select: str | None = None
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.done and a.get(self.want[0]) == self.want[1]:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and "name" in a:
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values.append((a["name"], a.get("value", "on")))
            else:
                self.values.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select = a.get("name")
        elif tag == "option" and self.select and "selected" in a:
            self.values.append((self.select, a.get("value", "")))
        elif tag == "textarea":
            self.textarea, self.text = a.get("name"), ""

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside, self.done = False, True
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.values.append((self.textarea, self.text))
            self.textarea = None


def form_values(page: str, attr: str, value: str) -> dict[str, str]:
    """The submitted values of the page's form with `attr="value"` (the CSRF token left
    out: the test browser adds its own)."""
    reader = _FormReader(attr, value)
    reader.feed(page)
    assert reader.done, f"no form with {attr}={value!r}"
    return {k: v for k, v in reader.values if k != "csrf_token"}


def app_of(web: WebPortal) -> Flask:
    """The served app."""
    return web.app

"""Set-up of the editor tests: a draft of the served starter blueprint, a signed-in editor,
and the exact textual change a save made. This module holds no tests."""

from __future__ import annotations

import difflib
import re

from builder_support import BuilderBrowser, add_account
from flask import Flask

from portalis.engine import drafts
from portalis.testing.web import WebPortal

EDITOR = "editor@example.test"
_BASE = re.compile(r'name="base_revision" value="(\d+)"')


def new_draft(web: WebPortal) -> int:
    """A draft of the served portal's live version (the starter blueprint)."""
    return drafts.draft_from_live(web.engine, web.slug, name="work").id


def signed_in(web: WebPortal, email: str = EDITOR, rights: tuple[str, ...] = ("edit",)) -> BuilderBrowser:
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
    """file → the changed lines (`-old` / `+new`) from revision `a` to `b`."""
    old = drafts.revision_bundle(web.engine, draft, a).files
    new = drafts.revision_bundle(web.engine, draft, b).files
    out: dict[str, list[str]] = {}
    for path in sorted(set(old) | set(new)):
        if old.get(path) == new.get(path):
            continue
        lines = difflib.ndiff(old.get(path, "").splitlines(), new.get(path, "").splitlines())
        out[path] = [line for line in lines if line[:1] in "+-"]
    return out


def app_of(web: WebPortal) -> Flask:
    """The served app."""
    return web.app

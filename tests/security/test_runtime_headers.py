"""Response headers and errors: SECURITY A.42 (ASVS 4.1.1), A.45 (16.5) and A.46 (3.4).

- every kind of response (page, redirect, CSS, CSV, JSON, problem+json, file, error page,
  health) carries a correct Content-Type — with `charset=utf-8` for text — and `nosniff`;
- an exception inside a view gives a generic error page without stack trace or internals,
  and a permission check that fails answers an error, never the unfiltered data;
- pages carry a CSP without `unsafe-inline` (and the templates need none: no inline
  scripts, styles or handlers), `frame-ancestors` from the definition's `embed` allow-list
  (per portal), HSTS only when the deployment says it is on HTTPS.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from test_runtime_support import SUBJECTS, b2c_copy, deploy, set_in_portal_yaml

from portalis.engine.data.list_plans import ABSENT, ListPlans
from portalis.engine.data.permissions import Policy
from portalis.runtime import dispatch
from portalis.runtime.app import create_app
from portalis.runtime.settings import Settings
from portalis.testing.web import PDF, PortalClient, WebPortal, upload_ticket

SECRET = "p_acme_support__ticket secret-marker-4711"
EMBED_ORIGINS = ("https://partner.example", "https://intranet.example:8443")


@dataclass
class Served:
    web: WebPortal
    embed: WebPortal  # `embed-support`: a b2c copy with embed.allowed_origins, same app
    url: str
    instance: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("headers")
    url = f"sqlite:///{folder / 'portal.sqlite'}"
    origins = ", ".join(f'"{o}"' for o in EMBED_ORIGINS)

    def embed(copy: Path) -> None:
        set_in_portal_yaml(copy, "\ntheme:", f"\nembed: {{allowed_origins: [{origins}]}}\n\ntheme:")

    embed_dir = b2c_copy(folder / "embed", embed, slug="embed-support")
    web = deploy(url, folder / "instance")
    second = deploy(url, folder / "instance", embed_dir)
    second.close()
    try:
        yield Served(web, WebPortal(web.app, second.compiled), url, folder / "instance")
    finally:
        web.app.config["PROPAGATE_EXCEPTIONS"] = None
        web.close()


# -- A.42 ----------------------------------------------------------------------------------
def read(response: Any) -> Any:
    """Consume a (streamed) response, which ends its request context."""
    response.get_data()
    return response


def test_asvs_4_1_1_content_type_charset_and_nosniff(served: Served) -> None:
    web = served.web
    ben, anonymous = web.client("ben@acme.test"), web.client()
    ticket, file_id = upload_ticket(ben, "Content types", PDF)
    text_ticket = ben.post(
        "/tickets/new",
        {
            "_block": "0",
            "subject": "Text file",
            "attachment": (io.BytesIO(b"plain text\n"), "n.txt"),
        },
        content_type="multipart/form-data",
    )
    text_page = ben.get(text_ticket.headers["Location"].split("/acme-support", 1)[1]).text
    text_file = re.search(r'/_files/([A-Za-z0-9_-]+)" download>', text_page)
    assert text_file is not None
    client = web.app.test_client()
    responses: dict[str, tuple[Any, str]] = {
        "page": (ben.get("/tickets"), "text/html; charset=utf-8"),
        "record page": (ben.get(f"/tickets/{ticket}"), "text/html; charset=utf-8"),
        "form with errors": (
            ben.post("/tickets/new", {"_block": "0", "subject": ""}),
            "text/html; charset=utf-8",
        ),
        "login page": (anonymous.get("/login"), "text/html; charset=utf-8"),
        "redirect": (anonymous.get("/tickets"), "text/html; charset=utf-8"),
        "theme css": (anonymous.get("/_theme.css"), "text/css; charset=utf-8"),
        "static css": (client.get("/_static/portalis.css"), "text/css; charset=utf-8"),
        "logo": (anonymous.get("/_logo.svg"), "image/svg+xml; charset=utf-8"),
        "csv": (read(ben.get("/_export/tickets/0.csv")), "text/csv; charset=utf-8"),
        "autocomplete": (ben.get("/_ac/ticket?q=a"), "application/json"),
        "api": (ben.get("/api/v1/ticket"), "application/json"),
        "openapi": (ben.get("/api/v1/openapi.json"), "application/json"),
        "api error": (ben.get("/api/v1/nothing"), "application/problem+json"),
        "pdf": (ben.get(f"/_files/{file_id}"), "application/pdf"),
        "text file": (ben.get(f"/_files/{text_file.group(1)}"), "text/plain; charset=utf-8"),
        "404": (ben.get("/no/such/page"), "text/html; charset=utf-8"),
        "404 record": (ben.get("/tickets/999999"), "text/html; charset=utf-8"),
        "403": (ben.get("/dashboard"), "text/html; charset=utf-8"),
        "405": (ben.get(f"/_act/ticket/{ticket}/delete"), "text/html; charset=utf-8"),
        "400 csrf": (ben.client.post(ben.url("/profile"), data={}), "text/html; charset=utf-8"),
        "unknown portal": (client.get("/no-such-portal/x"), "text/html; charset=utf-8"),
        "portal index": (client.get("/"), "text/html; charset=utf-8"),
        "health": (client.get("/_health"), "application/json"),
        "ready": (client.get("/_ready"), "application/json"),
    }
    wrong = []
    for name, (response, expected) in responses.items():
        content_type = response.headers.get("Content-Type", "")
        # JSON defines no charset parameter (RFC 8259 §11); a utf-8 one is harmless
        acceptable = {expected, f"{expected}; charset=utf-8"} if "json" in expected else {expected}
        if content_type not in acceptable:
            wrong.append(f"{name}: {response.status_code} {content_type!r}, want {expected!r}")
        if response.headers.get("X-Content-Type-Options") != "nosniff":
            wrong.append(f"{name}: no nosniff")
    assert not wrong, "\n".join(wrong)


# -- A.45 ----------------------------------------------------------------------------------
def assert_generic(response: Any, status: int, *, data: tuple[str, ...] = ()) -> None:
    text = response.get_data(as_text=True)
    assert response.status_code == status, (response.status_code, text[:300])
    for leak in ("Traceback", "secret-marker", "p_acme_support__", ".py", "RuntimeError", *data):
        assert leak not in text, leak
    for leak in ("Traceback", "secret-marker"):
        assert leak not in str(response.headers)


def boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(SECRET)


def test_asvs_16_5_generic_errors(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    web = served.web
    web.app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production
    ben = web.client("ben@acme.test")
    t2 = web.record_id("ticket", subject=SUBJECTS["t2"])
    subjects = tuple(SUBJECTS.values())

    # an exception inside a page's block, a system view and an API view
    list_type = web.app.extensions["portalis"].blocks.get("list")
    with monkeypatch.context() as patch:
        patch.setattr(list_type, "render", boom)
        response = ben.get("/tickets")
        assert_generic(response, 500)
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "Something went wrong" in response.text
    with monkeypatch.context() as patch:
        patch.setitem(dispatch.VIEWS, "sys:autocomplete", boom)
        assert_generic(ben.get("/_ac/ticket?q=a"), 500)
        patch.setitem(dispatch.VIEWS, "sys:profile", boom)
        assert_generic(ben.get("/profile"), 500)
    runtime = web.app.extensions["portalis"].registry.require(web.slug)
    with monkeypatch.context() as patch:
        patch.setattr(runtime.store, "get", boom)
        api = ben.get(f"/api/v1/ticket/{t2}")
        assert_generic(api, 500)
        assert api.mimetype == "application/problem+json"
        assert_generic(ben.get(f"/tickets/{t2}"), 500)

    # a failing permission check fails closed: an error, never unfiltered rows. (List
    # statements are kept once built, per actor and query — by earlier tests too — so none is
    # found here: each read builds its statement under the failing check.)
    for target in ("row_filter", "grants_for"):
        with monkeypatch.context() as patch:
            patch.setattr(Policy, target, boom)
            patch.setattr(ListPlans, "get", lambda self, key: ABSENT)
            for path in (
                "/tickets",
                f"/tickets/{t2}",
                f"/tickets/{t2}/edit",
                "/_export/tickets/0.csv",
                "/_ac/ticket?q=",
                "/api/v1/ticket",
                f"/api/v1/ticket/{t2}",
                "/dashboard",
            ):
                response = ben.get(path)
                text = response.get_data(as_text=True)
                assert response.status_code in (403, 404, 500), (target, path, response.status_code)
                assert not [s for s in subjects if s in text], (target, path)
                assert "Traceback" not in text and "secret-marker" not in text
            write = ben.post(f"/tickets/{t2}/edit", {"_block": "0", "subject": "x", "version": "1"})
            assert write.status_code in (403, 404, 500)
    assert web.store.get(web.actor("sam@support.test"), "ticket", t2)["subject"] == SUBJECTS["t2"]
    web.app.config["PROPAGATE_EXCEPTIONS"] = None


# -- A.46 ----------------------------------------------------------------------------------
class InlineCode(HTMLParser):
    """Inline scripts, style elements/attributes and event handlers (all blocked by the CSP)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.found: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action") and (value or "").lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}={value!r}>")


def csp_directives(response: Any) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_asvs_3_4_headers(served: Served) -> None:
    web = served.web
    t1 = web.record_id("ticket", subject=SUBJECTS["t1"])
    pages: list[tuple[str, PortalClient, str]] = []
    for email in (None, "ben@acme.test", "anna@acme.test", "sam@support.test"):
        browser = web.client(email)
        for path in (
            "/", "/login", "/reset", "/tickets", f"/tickets/{t1}", f"/tickets/{t1}/edit",
            "/tickets/new", "/dashboard", "/profile", "/profile/password", "/profile/sessions",
            "/account/users", "/no/such/page",
        ):  # fmt: skip
            pages.append((path, browser, str(email)))
    inline = []
    for path, browser, who in pages:
        response = browser.get(path)
        if response.status_code in (301, 302, 303):
            continue
        csp = csp_directives(response)
        for directive in ("script-src", "style-src", "default-src"):
            assert "'unsafe-inline'" not in csp.get(directive, []), (path, directive)
            assert "'unsafe-eval'" not in csp.get(directive, []), (path, directive)
        assert csp["script-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
        assert csp["frame-ancestors"] == ["'self'"], path
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP deployment
        if response.mimetype == "text/html":
            inline += [f"{who} {path}: {item}" for item in InlineCode(response.text).found]
    assert not inline, "markup the CSP blocks:\n" + "\n".join(sorted(set(inline)))

    # frame-ancestors follow the definition's embed allow-list, per portal
    embedded = served.embed.client("ben@acme.test")
    for path in ("/", "/tickets", "/login"):
        response = embedded.get(path)
        assert csp_directives(response)["frame-ancestors"] == ["'self'", *EMBED_ORIGINS]
        # X-Frame-Options cannot express an allow-list: it must not contradict the CSP
        assert response.headers.get("X-Frame-Options") in (None, "")
        assert "script-src 'self';" in response.headers["Content-Security-Policy"]
    assert csp_directives(web.client().get("/"))["frame-ancestors"] == ["'self'"]

    # HSTS only when the deployment declares HTTPS
    settings = Settings.from_env(
        {
            "PORTALIS_DATABASE_URL": served.url,
            "PORTALIS_INSTANCE_PATH": str(served.instance),
            "PORTALIS_HTTPS": "true",
        },
        testing=True,
        version_check_seconds=0,
    )
    https_app = create_app(settings)
    try:
        client = https_app.test_client()
        for path in ("/acme-support/", "/acme-support/login", "/_health", "/acme-support/nope"):
            response = client.get(path, base_url="https://localhost")
            hsts = response.headers.get("Strict-Transport-Security", "")
            assert re.fullmatch(r"max-age=(\d+); includeSubDomains", hsts), (path, hsts)
            assert int(hsts.split("=")[1].split(";")[0]) >= 31_536_000
    finally:
        https_app.extensions["portalis"].engine.dispose()
    assert "Strict-Transport-Security" not in web.app.test_client().get("/_health").headers

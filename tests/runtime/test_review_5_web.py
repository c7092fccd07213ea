"""Caching of personal responses, HEAD, the user's language through the API, invitations of
known addresses and password-reset requests that do the same work for every address
(SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from test_auth_support import PASSWORDS, SLUG, AuthHarness, link_in, url

from portalis.engine.accounts.users import create_user
from portalis.engine.data.errors import ValidationFailed
from portalis.engine.data.system_tables import jobs
from portalis.runtime.runtime_tables import tokens
from portalis.testing.web import WebPortal

API = f"/{SLUG}/api/v1"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def signed_in(auth: AuthHarness, email: str) -> FlaskClient:
    client = auth.client()
    assert auth.login(client, email).status_code == 303
    return client


def ticket_id(auth: AuthHarness, subject_start: str) -> int:
    table = auth.portal.tables["ticket"]
    with auth.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(table.c.id).where(table.c.subject.like(f"{subject_start}%"))
            ).scalar_one()
        )


def personal_paths(auth: AuthHarness, email: str) -> list[str]:
    """Pages, system views, API reads and error pages a signed-in user gets."""
    me = auth.user(email)["id"]
    ticket = ticket_id(auth, "Invoice 2026-114")
    return [
        url("/"),
        url("/tickets"),
        url(f"/tickets/{ticket}"),
        url(f"/tickets/{ticket}/edit"),
        url("/tickets/new"),
        url("/dashboard"),
        url("/profile"),
        url("/profile/sessions"),
        url("/notifications"),
        url("/account/users"),
        url("/tickets/999999"),  # 404 page (shows the user's name in the navigation)
        f"{API}/ticket",
        f"{API}/ticket/{ticket}",
        f"{API}/user/{me}",
        f"{API}/openapi.json",
        f"{API}/ticket/999999",
    ]


# -- Cache-Control ------------------------------------------------------------------------
def test_review_5_signed_in_responses_are_not_stored(auth: AuthHarness) -> None:
    client = signed_in(auth, "anna@acme.test")
    for path in personal_paths(auth, "anna@acme.test"):
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        policy = response.headers.get("Cache-Control", "")
        directives = {d.strip() for d in policy.split(",")}
        # never kept by a shared cache; kept by the browser only when revalidated each time
        assert "no-store" in directives or {"private", "no-cache"} <= directives, (path, policy)
    # state changes and their redirects, too
    saved = auth.post(client, "/profile", action="details", name="Anna Berg", locale="de")
    assert saved.status_code == 303 and saved.headers["Cache-Control"] == "no-store"


def test_review_5_static_assets_stay_cacheable(auth: AuthHarness) -> None:
    client = signed_in(auth, "anna@acme.test")
    for path in ("/_static/portalis.css", url("/_theme.css"), url("/_logo.svg")):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" not in response.headers.get("Cache-Control", ""), path
    assert "max-age=300" in client.get(url("/_theme.css")).headers["Cache-Control"]


# -- HEAD -----------------------------------------------------------------------------------
def test_review_5_head_answers_like_get(auth: AuthHarness) -> None:
    anonymous = auth.client()
    client = signed_in(auth, "anna@acme.test")
    cases = [(anonymous, p) for p in (url("/"), url("/login"), url("/reset"), url("/tickets"))]
    cases += [(client, p) for p in personal_paths(auth, "anna@acme.test")]
    cases += [(client, "/_static/portalis.css"), (client, url("/_theme.css"))]
    for who, path in cases:
        got = who.get(path)
        head = who.head(path)
        assert head.status_code == got.status_code, (path, head.status_code, got.status_code)
        assert head.data == b"", path
        for name in ("Content-Type", "Cache-Control", "Location", "Content-Security-Policy"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)


def test_review_5_head_on_files_answers_like_get(database_url: str, tmp_path: Path) -> None:
    web = WebPortal.deploy(database_url, tmp_path / "instance")
    try:
        anna = web.client("anna@acme.test")
        created = anna.post(
            "/tickets/new",
            {"_block": "0", "subject": "With file", "attachment": (io.BytesIO(PDF), "a.pdf")},
            content_type="multipart/form-data",
        )
        assert created.status_code == 303
        page = anna.get(created.headers["Location"].split(f"/{SLUG}", 1)[1]).text
        found = re.search(rf'href="/{SLUG}/_files/([A-Za-z0-9_-]+)" download>', page)
        assert found, page
        path = f"/_files/{found.group(1)}"
        got = anna.get(path)
        head = anna.client.head(anna.url(path))
        assert got.status_code == head.status_code == 200
        assert got.data == PDF and head.data == b""
        for name in ("Content-Type", "Content-Disposition", "Cache-Control", "Content-Length"):
            assert head.headers.get(name) == got.headers.get(name), name
    finally:
        web.close()


def test_review_5_head_never_changes_state(auth: AuthHarness) -> None:
    client = signed_in(auth, "anna@acme.test")
    before = auth.user("anna@acme.test")
    # a HEAD carrying a form never reaches the POST branch of a view
    for path, data in (
        ("/profile", {"action": "details", "name": "Changed", "locale": "fr"}),
        ("/reset", {"email": "ben@acme.test"}),
        ("/account/users", {"action": "invite", "email": "x@acme.test", "name": "X",
                            "role": "customer"}),
    ):  # fmt: skip
        response = client.open(
            url(path), method="HEAD", data={"csrf_token": auth.csrf(client), **data}
        )
        assert response.status_code == 200, path
    after = auth.user("anna@acme.test")
    assert (after["name"], after["locale"]) == (before["name"], before["locale"])
    assert auth.count("user") == len(PASSWORDS)
    with auth.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(jobs)).scalar_one() == 0


# -- the user's language --------------------------------------------------------------------
def test_review_5_api_refuses_a_locale_the_profile_refuses(auth: AuthHarness) -> None:
    client = signed_in(auth, "ben@acme.test")
    me = auth.user("ben@acme.test")["id"]
    headers = {"X-CSRF-Token": auth.csrf(client)}
    for wrong in ("xx", "pt", "en-US", "<b>"):
        form = auth.post(client, "/profile", action="details", name="Ben", locale=wrong)
        assert form.status_code == 422, wrong
        response = client.patch(f"{API}/user/{me}", json={"locale": wrong}, headers=headers)
        assert response.status_code == 422, (wrong, response.get_json())
        assert response.mimetype == "application/problem+json"
        errors = response.get_json()["errors"]
        assert [m["code"] for m in errors["locale"]] == ["choice"], errors
        assert auth.user("ben@acme.test")["locale"] != wrong
    for right, stored in (("fr", "fr"), ("", None)):
        response = client.patch(f"{API}/user/{me}", json={"locale": right}, headers=headers)
        assert response.status_code == 200, response.get_json()
        assert auth.user("ben@acme.test")["locale"] == stored


def test_review_5_engine_refuses_unknown_user_locales(auth: AuthHarness) -> None:
    with auth.engine.begin() as conn, pytest.raises(ValidationFailed) as caught:
        create_user(conn, auth.portal, email="lea@acme.test", name="Lea", password=None,
                    roles=["customer"], locale="xx")  # fmt: skip
    assert [m.code for m in caught.value.errors["locale"]] == ["choice"]
    with auth.engine.begin() as conn:
        create_user(conn, auth.portal, email="lea@acme.test", name="Lea", password=None,
                    roles=["customer"], locale="es")  # fmt: skip
    assert auth.user("lea@acme.test")["locale"] == "es"


# -- password-reset requests ----------------------------------------------------------------
def queued(auth: AuthHarness) -> list[tuple[str, str]]:
    """(kind, status) of every outbox job, oldest first."""
    with auth.engine.connect() as conn:
        rows = conn.execute(sa.select(jobs.c.kind, jobs.c.status).order_by(jobs.c.id)).all()
    return [(str(kind), str(status)) for kind, status in rows]


def issued_tokens(auth: AuthHarness) -> int:
    with auth.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(tokens)).scalar_one())


def test_review_5_reset_request_does_the_same_work_for_every_address(auth: AuthHarness) -> None:
    auth.update_user("nina@globex.test", is_active=False)
    answers = {}
    for email in ("ben@acme.test", "bert@acme.test", "nina@globex.test"):
        answers[email] = auth.post(auth.client(), "/reset", email=email)
        # the request only queues one job: no token, no mail yet, whoever the address is
        assert queued(auth)[-1] == ("reset_request", "pending"), email
        assert issued_tokens(auth) == 0
    assert len(queued(auth)) == 3
    assert len({(a.status_code, a.data) for a in answers.values()}) == 1
    assert answers["ben@acme.test"].status_code == 200
    # the job decides: a link for the active user, nothing for an unknown or disabled address
    mail = auth.smtp.wait_for(to="ben@acme.test")
    assert auth.client().get(link_in(mail, "/reset/")).status_code == 200
    assert auth.smtp.to("bert@acme.test") == [] and auth.smtp.to("nina@globex.test") == []
    assert issued_tokens(auth) == 1
    kinds = queued(auth)
    assert kinds.count(("reset_request", "done")) == 3 and kinds.count(("mail", "done")) == 1
    # a done job keeps neither the address nor the message
    with auth.engine.connect() as conn:
        payloads = conn.execute(
            sa.select(jobs.c.payload).where(jobs.c.kind == "reset_request")
        ).scalars()
        payloads = list(payloads)
        assert all(set(p) == {"locale", "_redact"} for p in payloads), payloads


# -- invitations ----------------------------------------------------------------------------
def invite(auth: AuthHarness, client: FlaskClient, email: str) -> tuple[int, str, str]:
    """(status, Location, the flash shown next) of an invitation of `email`."""
    response = auth.post(client, "/account/users", action="invite", email=email, name="Someone",
                         role="customer")  # fmt: skip
    shown = client.get(url("/account/users")).get_data(as_text=True)
    notices = re.findall(r'<div class="notice[^"]*" role="status">[^<]*</div>', shown)
    assert len(notices) == 1, notices
    return (
        response.status_code,
        response.headers.get("Location", ""),
        notices[0].replace(email, "*"),
    )


def test_review_5_invitation_answers_the_same_for_known_addresses(auth: AuthHarness) -> None:
    client = signed_in(auth, "anna@acme.test")
    client.get(url("/?lang=en"))
    before = {e: auth.user(e) for e in ("nina@globex.test", "sam@support.test", "ben@acme.test")}
    fresh = invite(auth, client, "carla@acme.test")
    assert fresh[0] == 303
    for email, row in before.items():  # another account, staff, the admin's own account
        assert invite(auth, client, email) == fresh, email
        assert auth.user(email) == row  # never moved, renamed, disabled or given roles
    # the new address is invited; the known ones get a notice, never an invitation link
    assert "/invite/" in auth.smtp.wait_for(to="carla@acme.test").text
    for email in before:
        notice = auth.smtp.wait_for(to=email)
        assert "/invite/" not in notice.text and "Nothing was changed" in notice.text, email
        assert url("/reset") in notice.text
    assert auth.count("user") == len(PASSWORDS) + 1
    with auth.engine.connect() as conn:
        done = conn.execute(sa.select(jobs.c.kind).order_by(jobs.c.id)).scalars().all()
    assert done == ["mail"] * 4  # one queued mail per invitation, whoever the address is


def test_review_5_invitation_never_reserves_an_address_silently(auth: AuthHarness) -> None:
    client = signed_in(auth, "anna@acme.test")
    auth.app.config["PROPAGATE_EXCEPTIONS"] = False
    # the outbox refuses the mail: the invited user must not stay behind, unannounced
    with auth.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE portalis_job RENAME TO portalis_job_away"))
    try:
        response = auth.post(client, "/account/users", action="invite", email="ceo@globex.test",
                             name="Someone", role="customer")  # fmt: skip
    finally:
        with auth.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE portalis_job_away RENAME TO portalis_job"))
    assert response.status_code >= 500
    assert auth.count("user") == len(PASSWORDS)
    # with the outbox back, the invitation and its mail are written together
    assert invite(auth, client, "ceo@globex.test")[0] == 303
    row = auth.user("ceo@globex.test")
    assert not row["is_active"] and row["password_hash"] is None
    assert "/invite/" in auth.smtp.wait_for(to="ceo@globex.test").text

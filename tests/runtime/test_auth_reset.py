"""Password reset by e-mail through a real SMTP server (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa
from test_auth_support import NEW_PASSWORD, SLUG, AuthHarness, link_in, url
from werkzeug.test import TestResponse

from portalis.runtime.runtime_tables import tokens


def request_link(auth: AuthHarness, email: str, count: int = 1) -> str:
    """Ask for a reset link and return its path from the mail."""
    response = auth.post(auth.client(), "/reset", email=email)
    assert response.status_code == 200
    return link_in(auth.smtp.wait_for(to=email, count=count), "/reset/")


def set_password(auth: AuthHarness, path: str, password: str = NEW_PASSWORD) -> TestResponse:
    client = auth.client()
    assert client.get(path).status_code == 200
    return client.post(
        path,
        data={"csrf_token": auth.csrf(client), "password": password, "password_confirm": password},
    )


def test_reset_flow_sends_mail_in_the_users_language(auth: AuthHarness) -> None:
    page = auth.client().get(url("/reset"))
    assert page.status_code == 200 and 'name="email"' in page.get_data(as_text=True)
    response = auth.post(auth.client(), "/reset", email="Anna@ACME.test")
    assert response.status_code == 200
    assert "Check your inbox" in response.get_data(as_text=True)
    mail = auth.smtp.wait_for(to="anna@acme.test")
    assert mail.rcpt_tos == ("anna@acme.test",)
    assert mail.message["From"] == "portal@localhost"
    title = "Acme Kundenservice"  # anna's profile language is German
    assert mail.subject == auth.gettext("de", "Reset your password for %(portal)s", portal=title)
    assert mail.language == "de" and '<html lang="de">' in mail.html
    path = link_in(mail, "/reset/")
    assert path.startswith(url("/reset/"))
    assert f'href="http://localhost{path}"' in mail.html
    assert "60" in mail.text  # the link's lifetime in minutes

    response = set_password(auth, path)
    assert response.status_code == 303
    assert response.headers["Location"] == url("/login")
    assert auth.login(auth.client(), "anna@acme.test").status_code == 422  # old password
    assert auth.login(auth.client(), "anna@acme.test", NEW_PASSWORD).status_code == 303
    # single use
    assert auth.client().get(path).status_code == 404
    notice = auth.smtp.wait_for(to="anna@acme.test", count=2)
    assert notice.subject == auth.gettext(
        "de", "Your password for %(portal)s was changed", portal=title
    )


def test_asvs_6_3_8_no_enumeration_reset(auth: AuthHarness) -> None:
    client = auth.client()
    known = auth.post(client, "/reset", email="ben@acme.test")
    unknown = auth.post(client, "/reset", email="bert@acme.test")
    assert known.status_code == unknown.status_code == 200
    assert known.data == unknown.data
    auth.smtp.wait_for(to="ben@acme.test")
    assert auth.smtp.to("bert@acme.test") == []
    malformed = auth.post(client, "/reset", email="not an address")
    assert malformed.status_code == 422
    assert 'id="email-error"' in malformed.get_data(as_text=True)


def test_asvs_6_4_3_reset_does_not_log_in(auth: AuthHarness) -> None:
    elsewhere = auth.client("192.0.2.44")
    auth.login(elsewhere, "ben@acme.test")
    path = request_link(auth, "ben@acme.test")
    client = auth.client()
    client.get(path)
    response = client.post(
        path,
        data={
            "csrf_token": auth.csrf(client),
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == url("/login")
    assert not auth.signed_in(client)  # must sign in (and pass 2FA where required)
    assert not auth.signed_in(elsewhere)  # every session of the user ended
    with client.session_transaction() as sess:
        assert "_user_id" not in sess


def test_reset_link_expires_and_is_stored_hashed(auth: AuthHarness) -> None:
    path = request_link(auth, "ben@acme.test")
    token = path.rsplit("/", 1)[1]
    with auth.engine.connect() as conn:
        ids = [
            row[0] for row in conn.execute(sa.select(tokens.c.id).where(tokens.c.portal == SLUG))
        ]
    assert ids == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in ids
    auth.age_tokens(timedelta(hours=1))
    response = auth.client().get(path)
    assert response.status_code == 404
    assert "Request a new link" in response.get_data(as_text=True)
    assert auth.client().get(url("/reset/not-a-token")).status_code == 404


def test_reset_mails_are_rate_limited(auth: AuthHarness) -> None:
    client = auth.client()
    for _ in range(5):
        assert auth.post(client, "/reset", email="ben@acme.test").status_code == 200
    auth.smtp.wait_for(to="ben@acme.test", count=3)
    assert len(auth.smtp.to("ben@acme.test")) == 3


def test_disabled_users_get_no_reset_link(auth: AuthHarness) -> None:
    auth.update_user("ben@acme.test", is_active=False)
    assert auth.post(auth.client(), "/reset", email="ben@acme.test").status_code == 200
    auth.post(auth.client(), "/reset", email="nina@globex.test")
    auth.smtp.wait_for(to="nina@globex.test")
    assert auth.smtp.to("ben@acme.test") == []

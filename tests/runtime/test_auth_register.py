"""Self-registration and e-mail verification (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_auth_support import (
    NEW_PASSWORD,
    PASSWORDS,
    AuthHarness,
    link_in,
    self_registration,
    serve,
    url,
)
from werkzeug.test import TestResponse

from portalis.engine.deploy.validator import Checker
from portalis.testing.smtp import SmtpServer


@pytest.fixture
def auth(
    database_url: str, tmp_path: Path, portalis_checker: Checker, smtp_server: SmtpServer
) -> Iterator[AuthHarness]:
    blueprint = self_registration(tmp_path)
    with serve(database_url, tmp_path, portalis_checker, smtp_server, blueprint) as harness:
        yield harness


def register(auth: AuthHarness, email: str, name: str = "Carla Diaz", **extra: str) -> TestResponse:
    client = auth.client(HTTP_ACCEPT_LANGUAGE=extra.pop("language", "en"))
    client.get(url("/register"))
    form = {"email": email, "name": name, "password": NEW_PASSWORD}
    form["password_confirm"] = NEW_PASSWORD
    form.update(extra)
    return auth.post(client, "/register", **form)


def test_registration_is_off_unless_enabled(
    database_url: str, tmp_path: Path, portalis_checker: Checker, smtp_server: SmtpServer
) -> None:
    with serve(database_url, tmp_path, portalis_checker, smtp_server) as plain:
        assert plain.client().get(url("/register")).status_code == 404
        assert "/register" not in plain.client().get(url("/login")).get_data(as_text=True)


def test_register_verify_and_sign_in(auth: AuthHarness) -> None:
    assert 'href="/acme-support/register"' in auth.client().get(url("/login")).get_data(
        as_text=True
    )
    response = register(auth, "Carla@Example.org", language="fr")
    assert response.status_code == 200
    mail = auth.smtp.wait_for(to="carla@example.org")
    assert mail.language == "fr"
    assert mail.subject == auth.gettext(
        "fr", "Confirm your e-mail address for %(portal)s", portal="Support Acme"
    )
    user = auth.user("carla@example.org")
    assert not user["is_active"] and user["roles"] == ["customer"]
    assert user["locale"] == "fr"
    accounts = auth.portal.tables["account"]
    with auth.engine.connect() as conn:
        account = conn.execute(sa.select(accounts).where(accounts.c.id == user["account"])).one()
    assert account.name == "Carla Diaz"

    # not before the address is confirmed
    early = auth.login(auth.client(), "carla@example.org", NEW_PASSWORD)
    assert early.status_code == 403
    assert "confirm your e-mail address" in early.get_data(as_text=True)

    path = link_in(mail, "/verify/")
    opener = auth.client()
    assert opener.get(path).status_code == 200  # a confirmation page: GET changes nothing
    assert not auth.user("carla@example.org")["is_active"]
    confirmed = opener.post(path, data={"csrf_token": auth.csrf(opener)})
    assert confirmed.status_code == 303 and confirmed.headers["Location"] == url("/login")
    assert auth.user("carla@example.org")["is_active"]
    assert auth.client().get(path).status_code == 404  # single use
    client = auth.client()
    assert auth.login(client, "carla@example.org", NEW_PASSWORD).status_code == 303
    assert auth.signed_in(client)


def test_asvs_6_3_8_no_enumeration_register(auth: AuthHarness) -> None:
    known = register(auth, "anna@acme.test", "Anna B")
    unknown = register(auth, "dora@example.org", "Anna B")
    assert known.status_code == unknown.status_code == 200
    assert known.data == unknown.data
    # the owner of the known address is told, not the visitor
    notice = auth.smtp.wait_for(to="anna@acme.test")
    assert notice.language == "de"  # in anna's language, not the visitor's
    assert "/login" in notice.text and "/reset" in notice.text and "/verify/" not in notice.text
    assert link_in(auth.smtp.wait_for(to="dora@example.org"), "/verify/")
    assert auth.user("anna@acme.test")["name"] == "Anna Berg"  # nothing changed


def test_registering_again_sends_a_fresh_link(auth: AuthHarness) -> None:
    register(auth, "erik@example.org")
    first = link_in(auth.smtp.wait_for(to="erik@example.org"), "/verify/")
    register(auth, "erik@example.org")
    second = link_in(auth.smtp.wait_for(to="erik@example.org", count=2), "/verify/")
    assert first != second
    assert auth.client().get(first).status_code == 404
    opener = auth.client()
    assert opener.get(second).status_code == 200
    assert opener.post(second, data={"csrf_token": auth.csrf(opener)}).status_code == 303
    assert auth.count("user") == len(PASSWORDS) + 1


def test_register_field_errors(auth: AuthHarness) -> None:
    response = register(auth, "not-an-address", "", password="short", password_confirm="other")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field in ("email", "name", "password", "password_confirm"):
        assert f'id="{field}-error"' in html, field
    assert 'value="not-an-address"' in html
    assert 'value="short"' not in html  # passwords are never echoed
    assert auth.smtp.messages == []

"""Account administrators: the user list, invitations, disabling users (SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flask.testing import FlaskClient
from test_auth_support import NEW_PASSWORD, PASSWORDS, SLUG, AuthHarness, link_in, url

from portalis.engine.accounts.users import set_active
from portalis.runtime.sessions import end_user_sessions

PORTALIS = str(Path(sys.executable).parent / "portalis")


def admin(auth: AuthHarness) -> FlaskClient:
    client = auth.client()
    assert auth.login(client, "anna@acme.test").status_code == 303
    # anna's profile language is German; the texts asserted below are the English ones
    client.get("/acme-support/?lang=en")
    return client


def test_account_admin_sees_only_their_account(auth: AuthHarness) -> None:
    response = admin(auth).get(url("/account/users"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "anna@acme.test" in html and "ben@acme.test" in html
    assert "nina@globex.test" not in html and "sam@support.test" not in html
    assert 'value="disable"' in html  # for ben and lena, never for anna herself
    assert html.count('value="disable"') == 2


def test_other_roles_get_403(auth: AuthHarness) -> None:
    for email in ("ben@acme.test", "sam@support.test"):
        client = auth.client()
        auth.login(client, email)
        assert client.get(url("/account/users")).status_code == 403, email
        forged = auth.post(client, "/account/users", action="invite", email="x@y.test", name="X")
        assert forged.status_code == 403
    anonymous = auth.client().get(url("/account/users"))
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith(url("/login?next="))


def test_invitation_flow(auth: AuthHarness) -> None:
    client = admin(auth)
    page = client.get(url("/account/users")).get_data(as_text=True)
    assert 'value="customer"' in page and 'value="account_admin"' in page
    assert 'value="agent"' not in page  # staff roles are never offered
    response = auth.post(
        client, "/account/users", action="invite", email="Carla@Acme.test", name="Carla",
        role="customer",
    )  # fmt: skip
    assert response.status_code == 303
    invited = auth.user("carla@acme.test")
    assert not invited["is_active"] and invited["password_hash"] is None
    assert invited["account"] == auth.user("anna@acme.test")["account"]
    assert invited["roles"] == ["customer"]
    assert "Invited" in client.get(url("/account/users")).get_data(as_text=True)

    mail = auth.smtp.wait_for(to="carla@acme.test")
    # the invitee's language is unknown: the inviting admin's current language is used
    assert mail.language == "en"
    title = "Acme Support"
    assert mail.subject == auth.gettext("en", "You are invited to %(portal)s", portal=title)
    assert "Anna Berg" in mail.text and "7" in mail.text
    path = link_in(mail, "/invite/")
    assert auth.login(auth.client(), "carla@acme.test", "").status_code == 422

    guest = auth.client()
    form = guest.get(path)
    assert form.status_code == 200 and "carla@acme.test" in form.get_data(as_text=True)
    short = guest.post(path, data={"csrf_token": auth.csrf(guest), "name": "Carla Diaz",
                                   "password": "short", "password_confirm": "short"})  # fmt: skip
    assert short.status_code == 422
    accepted = guest.post(
        path,
        data={
            "csrf_token": auth.csrf(guest),
            "name": "Carla Diaz",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert accepted.status_code == 303 and accepted.headers["Location"] == url("/")
    assert auth.signed_in(guest)
    row = auth.user("carla@acme.test")
    assert row["is_active"] and row["name"] == "Carla Diaz"
    assert auth.client().get(path).status_code == 404  # single use
    assert auth.login(auth.client(), "carla@acme.test", NEW_PASSWORD).status_code == 303


def test_invitation_checks(auth: AuthHarness) -> None:
    client = admin(auth)
    staff = auth.post(client, "/account/users", action="invite", email="x@acme.test", name="X",
                      role="agent")  # fmt: skip
    assert staff.status_code == 422 and 'id="role-error"' in staff.get_data(as_text=True)
    taken = auth.post(client, "/account/users", action="invite", email="nina@globex.test",
                      name="N", role="customer")  # fmt: skip
    # a known address answers like a new one and is left alone (its owner gets a notice)
    assert taken.status_code == 303
    bad = auth.post(client, "/account/users", action="invite", email="nope", name="",
                    role="customer")  # fmt: skip
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="email-error"' in html and 'id="name-error"' in html
    assert auth.count("user") == len(PASSWORDS)  # the seeded users, nobody new
    assert [m.rcpt_tos for m in auth.smtp.messages] == [("nina@globex.test",)]


def test_resend_invitation(auth: AuthHarness) -> None:
    client = admin(auth)
    auth.post(client, "/account/users", action="invite", email="dan@acme.test", name="Dan",
              role="customer")  # fmt: skip
    first = link_in(auth.smtp.wait_for(to="dan@acme.test"), "/invite/")
    uid = str(auth.user("dan@acme.test")["id"])
    assert auth.post(client, "/account/users", action="resend", user=uid).status_code == 303
    second = link_in(auth.smtp.wait_for(to="dan@acme.test", count=2), "/invite/")
    assert first != second
    assert auth.client().get(first).status_code == 404
    assert auth.client().get(second).status_code == 200


def test_asvs_7_4_2_disable_ends_sessions(auth: AuthHarness) -> None:
    ben = auth.client("192.0.2.7")
    auth.login(ben, "ben@acme.test")
    assert auth.signed_in(ben)
    client = admin(auth)
    uid = str(auth.user("ben@acme.test")["id"])
    response = auth.post(client, "/account/users", action="disable", user=uid)
    assert response.status_code == 303
    assert not auth.user("ben@acme.test")["is_active"]
    assert all(row["revoked"] for row in auth.session_rows("ben@acme.test"))
    assert not auth.signed_in(ben)
    assert auth.login(auth.client(), "ben@acme.test").status_code == 422
    assert "Disabled" in client.get(url("/account/users")).get_data(as_text=True)
    assert auth.post(client, "/account/users", action="enable", user=uid).status_code == 303
    assert auth.login(auth.client(), "ben@acme.test").status_code == 303


def test_admin_limits(auth: AuthHarness) -> None:
    client = admin(auth)
    own = str(auth.user("anna@acme.test")["id"])
    assert auth.post(client, "/account/users", action="disable", user=own).status_code == 400
    assert auth.user("anna@acme.test")["is_active"]
    other = str(auth.user("nina@globex.test")["id"])
    assert auth.post(client, "/account/users", action="disable", user=other).status_code == 404
    assert auth.user("nina@globex.test")["is_active"]
    assert auth.post(client, "/account/users", action="drop", user=other).status_code == 400


def test_asvs_7_4_2_disable_by_engine_and_cli_ends_sessions(
    auth: AuthHarness, database_url: str
) -> None:
    ben, nina = auth.client(), auth.client()
    auth.login(ben, "ben@acme.test")
    auth.login(nina, "nina@globex.test")
    with auth.engine.begin() as conn:  # what `portalis users disable` and admin tools do
        uid = set_active(conn, auth.portal, "ben@acme.test", False)
        end_user_sessions(conn, SLUG, uid)
    assert not auth.signed_in(ben)
    result = subprocess.run(
        [PORTALIS, "users", "disable", SLUG, "nina@globex.test"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PORTALIS_DATABASE_URL": database_url, "HOME": "/tmp"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert not auth.signed_in(nina)
    assert auth.login(auth.client(), "nina@globex.test").status_code == 422

"""The password policy: minimum length, common passwords, no truncation, long passwords,
history (SQLite and PostgreSQL), through the reset and change forms."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient
from test_auth_support import NEW_PASSWORD, AuthHarness, definition, link_in, serve
from werkzeug.test import TestResponse

from portalis.engine.accounts.passwords import hash_password
from portalis.engine.definition.auth_config import PasswordPolicy
from portalis.engine.deploy.validator import Checker
from portalis.runtime.auth import policy
from portalis.testing.smtp import SmtpServer


def change(
    auth: AuthHarness, client: FlaskClient, current: str, new: str, confirm: str | None = None
) -> TestResponse:
    """POST /profile/password."""
    return auth.post(
        client,
        "/profile/password",
        current_password=current,
        password=new,
        password_confirm=new if confirm is None else confirm,
    )


def test_common_password_list_is_shipped() -> None:
    header = policy.COMMON_PASSWORDS_FILE.read_text().splitlines()[0]
    assert header.startswith("#")
    assert len(policy.common_passwords()) == 10_000
    assert {"123456", "password", "qwerty123456"} <= policy.common_passwords()


def test_policy_minimum_is_never_below_8() -> None:
    weak = PasswordPolicy(min_length=4)
    assert policy.min_length(weak) == 8
    assert [p.code for p in policy.check_password("Xy7#kq!", weak)] == ["too-short"]
    assert policy.check_password("Xy7#kq!z", weak) == []
    assert policy.check_password("x" * 1025, weak)[0].code == "too-long"


def test_policy_refuses_the_users_own_address() -> None:
    rules = PasswordPolicy(min_length=8)
    problems = policy.check_password("Anna@Acme.test", rules, context=("anna@acme.test",))
    assert [p.code for p in problems] == ["personal"]


def test_asvs_6_2_1_min_length_set_and_change(auth: AuthHarness) -> None:
    client = auth.client()
    auth.login(client, "ben@acme.test")
    short = change(auth, client, "correct horse 44", "eleven char")  # 11 < 12
    assert short.status_code == 422
    html = short.get_data(as_text=True)
    assert 'id="password-error"' in html and "Use at least 12 characters." in html
    ok = change(auth, client, "correct horse 44", "twelve chars")
    assert ok.status_code == 303
    # setting through a reset link applies the same minimum
    auth.post(auth.client(), "/reset", email="ben@acme.test")
    mail = auth.smtp.wait_for(to="ben@acme.test", count=2)  # (1: password changed notice)
    path = link_in(mail, "/reset/")
    reset = auth.client()
    reset.get(path)
    response = reset.post(path, data={"csrf_token": auth.csrf(reset), "password": "short pw",
                                      "password_confirm": "short pw"})  # fmt: skip
    assert response.status_code == 422
    assert "Use at least 12 characters." in response.get_data(as_text=True)


def test_asvs_6_2_4_common_password_rejected(auth: AuthHarness) -> None:
    client = auth.client()
    auth.login(client, "ben@acme.test")
    for common in ("qwerty123456", "QWERTY123456", "LeaveMeAlone"):  # case-insensitive
        response = change(auth, client, "correct horse 44", common)
        assert response.status_code == 422, common
        assert "too common" in response.get_data(as_text=True)
    assert change(auth, client, "correct horse 44", "qwerty123456 tulip").status_code == 303


def test_asvs_6_2_8_no_truncation(auth: AuthHarness) -> None:
    stem = "x" * 72  # bcrypt would only look at these 72 bytes
    first, second = stem + "AAAAAAAA", stem + "BBBBBBBB"
    assert len(first) == len(second) == 80
    auth.update_user("ben@acme.test", password_hash=hash_password(first))
    assert auth.login(auth.client(), "ben@acme.test", second).status_code == 422
    assert auth.login(auth.client(), "ben@acme.test", first[:72]).status_code == 422
    assert auth.login(auth.client(), "ben@acme.test", first + " ").status_code == 422  # no trim
    assert auth.login(auth.client(), "ben@acme.test", first).status_code == 303


def test_asvs_6_2_9_long_passwords(auth: AuthHarness) -> None:
    long = "Long passphrase, 128 characters: äöü € 🙂 " * 4
    long = long[:128]
    assert len(long) == 128
    client = auth.client()
    auth.login(client, "ben@acme.test")
    assert change(auth, client, "correct horse 44", long).status_code == 303
    auth.post(client, "/logout")
    assert auth.login(auth.client(), "ben@acme.test", long).status_code == 303
    assert auth.login(auth.client(), "ben@acme.test", long[:127]).status_code == 422
    client = auth.client()
    auth.login(client, "ben@acme.test", long)
    assert change(auth, client, long, "p" * 64 + " sixty-four plus").status_code == 303


def test_password_history(
    database_url: str, tmp_path: Path, portalis_checker: Checker, smtp_server: SmtpServer
) -> None:
    blueprint = definition(tmp_path, **{"history: 5": "history: 2"})  # fewer Argon2 rounds
    with serve(database_url, tmp_path, portalis_checker, smtp_server, blueprint) as auth:
        client = auth.client()
        auth.login(client, "ben@acme.test")
        current = "correct horse 44"
        reused = change(auth, client, current, current)
        assert reused.status_code == 422
        assert "not used recently" in reused.get_data(as_text=True)
        history = [f"history password {n}" for n in range(3)]
        for new in history:
            assert change(auth, client, current, new).status_code == 303, new
            current = new
        assert change(auth, client, current, history[1]).status_code == 422  # last 2 refused
        assert change(auth, client, current, history[0]).status_code == 303  # 3 changes ago


def test_mismatched_confirmation(auth: AuthHarness) -> None:
    client = auth.client()
    auth.login(client, "ben@acme.test")
    response = change(auth, client, "correct horse 44", NEW_PASSWORD, NEW_PASSWORD + "!")
    assert response.status_code == 422
    assert 'id="password_confirm-error"' in response.get_data(as_text=True)
    assert auth.login(auth.client(), "ben@acme.test").status_code == 303

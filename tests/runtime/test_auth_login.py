"""Sign-in and sign-out: the form, redirects, sessions, cookies, CSRF (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from argon2 import PasswordHasher
from test_auth_support import HOME, AuthHarness, serve, url

from portalis.engine.accounts.passwords import needs_rehash, verify_password
from portalis.engine.deploy.validator import Checker
from portalis.runtime.security import CSRF_SESSION_KEY
from portalis.testing.smtp import SmtpServer
from portalis.testing.web import mask_csrf


def test_login_page_renders(auth: AuthHarness) -> None:
    response = auth.client().get(url("/login"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="csrf_token"' in html
    assert 'name="email"' in html and 'autocomplete="username"' in html
    assert 'type="password"' in html and 'autocomplete="current-password"' in html


def test_login_success(auth: AuthHarness) -> None:
    client = auth.client()
    response = auth.login(client, "ben@acme.test")
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == HOME
    assert auth.signed_in(client)
    assert auth.user("ben@acme.test")["last_login_at"] is not None


def test_login_follows_a_same_portal_next(auth: AuthHarness) -> None:
    client = auth.client()
    response = auth.login(client, "ben@acme.test", next=url("/tickets?status=open"))
    assert response.headers["Location"] == url("/tickets?status=open")


def test_login_wrong_password_keeps_the_address(auth: AuthHarness) -> None:
    response = auth.login(auth.client(), "ben@acme.test", "wrong password 1")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="ben@acme.test"' in html
    assert 'class="field-error" id="password-error"' in html
    assert 'aria-invalid="true"' in html


def _normalized(body: bytes, *emails: str) -> str:
    text = body.decode()
    for email in emails:
        text = text.replace(email, "EMAIL")
    return mask_csrf(text)  # the same session's token, signed in another second


def test_asvs_6_3_8_no_enumeration_login(auth: AuthHarness) -> None:
    client = auth.client()  # one browser: the same CSRF secret behind every body
    known = auth.login(client, "anna@acme.test", "not the password 1")
    unknown = auth.login(client, "anne@acme.test", "not the password 1")
    auth.update_user("ben@acme.test", is_active=False)
    disabled = auth.login(client, "ben@acme.test")  # right password, disabled user
    emails = ("anna@acme.test", "anne@acme.test", "ben@acme.test")
    assert known.status_code == unknown.status_code == disabled.status_code == 422
    assert _normalized(known.data, *emails) == _normalized(unknown.data, *emails)
    assert _normalized(known.data, *emails) == _normalized(disabled.data, *emails)
    assert not auth.signed_in(client)


def test_asvs_7_2_4_new_session_on_login(auth: AuthHarness) -> None:
    client = auth.client()
    client.get(url("/login"))
    with client.session_transaction() as sess:  # a fixated session id planted by an attacker
        sess["_user_id"] = f"{HOME.strip('/')}|planted-secret"
        before_csrf = sess[CSRF_SESSION_KEY]
    auth.login(client, "ben@acme.test")
    with client.session_transaction() as sess:
        after = sess["_user_id"]
        assert sess.get(CSRF_SESSION_KEY) != before_csrf
    assert after != f"{HOME.strip('/')}|planted-secret"
    first = after
    auth.login(client, "ben@acme.test")
    with client.session_transaction() as sess:
        assert sess["_user_id"] != first  # every sign-in opens a new server-side session
    assert len(auth.session_rows("ben@acme.test")) == 2


def test_asvs_7_4_1_logout_invalidates(auth: AuthHarness) -> None:
    client = auth.client()
    auth.login(client, "ben@acme.test")
    with client.session_transaction() as sess:
        stolen = dict(sess)
    response = auth.post(client, "/logout")
    assert response.status_code == 303 and response.headers["Location"] == HOME
    assert not auth.signed_in(client)
    replay = auth.client()
    with replay.session_transaction() as sess:
        sess.update(stolen)
    response = replay.get(url("/profile"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(url("/login"))
    assert all(row["revoked"] for row in auth.session_rows("ben@acme.test"))


def test_logout_is_post_only(auth: AuthHarness) -> None:
    client = auth.client()
    auth.login(client, "ben@acme.test")
    assert client.get(url("/logout")).status_code == 405
    assert auth.signed_in(client)


def test_asvs_3_5_1_csrf_required(auth: AuthHarness) -> None:
    client = auth.client()
    client.get(url("/login"))
    form = {"email": "ben@acme.test", "password": "correct horse 44"}
    assert client.post(url("/login"), data=form).status_code == 400
    assert client.post(url("/login"), data={**form, "csrf_token": "forged"}).status_code == 400
    auth.login(client, "ben@acme.test")
    assert client.post(url("/logout")).status_code == 400
    assert client.post(url("/profile"), data={"name": "Mallory"}).status_code == 400
    assert client.post(url("/profile/password"), data={}).status_code == 400
    assert auth.signed_in(client)
    assert auth.user("ben@acme.test")["name"] == "Ben Ortiz"


def test_asvs_3_3_1_cookie_flags(auth: AuthHarness) -> None:
    response = auth.login(auth.client(), "ben@acme.test")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("portalis=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie


def test_asvs_3_3_1_cookie_flags_https(
    database_url: str, tmp_path: Path, portalis_checker: Checker, smtp_server: SmtpServer
) -> None:
    env = {"PORTALIS_HTTPS": "true"}
    with serve(database_url, tmp_path, portalis_checker, smtp_server, env=env) as auth:
        # a browser sends the page it posts from (Referer): over https it must be this origin
        referer = f"https://localhost{url('/login')}"
        client = auth.client(**{"wsgi.url_scheme": "https", "HTTP_REFERER": referer})
        response = auth.login(client, "ben@acme.test")
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith("__Host-portalis=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Path=/" in cookie and "Domain=" not in cookie
        assert "max-age" in response.headers["Strict-Transport-Security"]


#: SECURITY A.38 and the Django bad-URL corpus: none of these may leave the portal.
REDIRECT_CORPUS = (
    "//evil", "\\\\evil", "/\\evil", "http:/\\/evil", "javascript:alert(1)", "http://host@evil",
    "%2f%2fevil", "//example.com", "///example.com", "http://example.com", "https://example.com",
    "\\\\example.com", "/\\example.com", "\\/example.com", "http:/\\/example.com",
    "http://user@example.com", "%2f%2fexample.com", "/%2f/example.com", " //example.com",
    "\t//example.com", "ftp://example.com", "data:text/html,x", "//example.com@other.org",
    "/..//example.com", "%252f%252fexample.com", "/acme-support/..//example.com",
    "https:example.com", "/other-portal/", "JaVaScRiPt:alert(1)", "\x00//example.com",
)  # fmt: skip


def test_asvs_3_7_2_redirect_corpus(auth: AuthHarness) -> None:
    client = auth.client()
    for target in REDIRECT_CORPUS:
        response = auth.login(client, "ben@acme.test", next=target)
        if "\x00" in target:  # requests carrying NUL characters are refused outright
            assert response.status_code == 400, target
            continue
        assert response.status_code == 303, target
        assert response.headers["Location"] == HOME, target
    # the query-string form of next (from a page redirect) is treated the same
    response = client.get(url("/login?next=//example.com"))
    assert response.status_code == 302 and response.headers["Location"] == HOME


def test_login_rehashes_weak_hashes(auth: AuthHarness) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse 44")
    auth.update_user("ben@acme.test", password_hash=weak)
    assert auth.login(auth.client(), "ben@acme.test").status_code == 303
    stored = auth.user("ben@acme.test")["password_hash"]
    assert stored != weak and not needs_rehash(stored)
    assert verify_password(stored, "correct horse 44")


def test_signed_in_user_visiting_login_is_sent_on(auth: AuthHarness) -> None:
    client = auth.client()
    auth.login(client, "ben@acme.test")
    response = client.get(url("/login"))
    assert response.status_code == 302 and response.headers["Location"] == HOME

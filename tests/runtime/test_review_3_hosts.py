"""E-mailed links come from configuration, never from the Host header (SQLite and PostgreSQL).

A forged `Host: evil.example` once put `http://evil.example/...` into password-reset mails.
Now a request for a host name the configuration does not name gets 400 before any view runs,
links use PORTALIS_BASE_URL (or a portal's `domains:`), `portalis serve` refuses to start
without a base URL, and only `portalis run` on loopback (and tests) builds links from a
loopback host.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from flask.testing import FlaskClient
from test_auth_support import PASSWORDS, AuthHarness, link_in, serve, url

from portalis.engine.data.db import create_engine
from portalis.engine.deploy.validator import Checker
from portalis.engine.outbox import job_admin
from portalis.runtime.runtime_tables import tokens
from portalis.testing.portals import BLUEPRINTS, deploy_dir
from portalis.testing.smtp import SmtpServer, free_port

BASE = "https://support.example.test"
EVIL = "evil.example"
PORTALIS = str(Path(sys.executable).parent / "portalis")


@pytest.fixture
def configured(
    database_url: str, tmp_path: Path, portalis_checker: Checker, smtp_server: SmtpServer
) -> Iterator[AuthHarness]:
    """b2c served with PORTALIS_BASE_URL set."""
    env = {"PORTALIS_BASE_URL": BASE}
    with serve(database_url, tmp_path, portalis_checker, smtp_server, env=env) as harness:
        yield harness


@pytest.fixture
def unconfigured(
    database_url: str, tmp_path: Path, portalis_checker: Checker, smtp_server: SmtpServer
) -> Iterator[AuthHarness]:
    """b2c served without a base URL (a testing app: loopback names are trusted)."""
    with serve(database_url, tmp_path, portalis_checker, smtp_server) as harness:
        yield harness


def forge(client: FlaskClient, host: str) -> None:
    """Let the browser send its localhost cookies (session, CSRF) to `host` too, so a
    forged-Host request is refused for its Host alone, not for a missing session."""
    for name in ("portalis",):
        cookie = client.get_cookie(name)
        if cookie is not None:
            client.set_cookie(name, cookie.value, domain=host)


def mail_jobs(auth: AuthHarness) -> int:
    """Jobs in the outbox (queued or done)."""
    return sum(job_admin.counts(auth.engine).values())


def token_rows(auth: AuthHarness) -> int:
    with auth.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(tokens)).scalar_one())


def refused_for_forged_host(auth: AuthHarness, path: str, **data: str) -> None:
    """POST `path` with `Host: evil.example` (session and CSRF valid): 400, nothing sent."""
    client = auth.client()
    client.get(url("/login"))
    auth.csrf(client)
    forge(client, EVIL)
    before_jobs, before_tokens = mail_jobs(auth), token_rows(auth)
    response = client.post(
        url(path), data={"csrf_token": auth.csrf(client), **data}, headers={"Host": EVIL}
    )
    assert response.status_code == 400
    assert EVIL not in response.get_data(as_text=True)
    assert mail_jobs(auth) == before_jobs and token_rows(auth) == before_tokens
    assert all(EVIL not in mail.text for mail in auth.smtp.messages)


def test_review_3_reset_link_ignores_forged_host(configured: AuthHarness) -> None:
    refused_for_forged_host(configured, "/reset", email="anna@acme.test")
    assert configured.smtp.to("anna@acme.test") == []
    # a GET of the page is refused as well: a forged Host reaches no view at all
    assert configured.client().get(url("/reset"), headers={"Host": EVIL}).status_code == 400

    # through the configured host name, the link starts with the configured base URL
    client = configured.client()
    token = configured.csrf(client)
    forge(client, "support.example.test")
    assert client.get(url("/reset"), base_url=BASE).status_code == 200
    response = client.post(
        url("/reset"),
        data={"csrf_token": token, "email": "anna@acme.test"},
        base_url=BASE,
        headers={"Referer": f"{BASE}{url('/reset')}"},  # over https: from this origin
    )
    assert response.status_code == 200
    mail = configured.smtp.wait_for(to="anna@acme.test")
    links = re.findall(r"https?://[^\s\"<>]+", mail.text + mail.html)
    assert links and all(link.startswith(f"{BASE}/acme-support/") for link in links)
    assert link_in(mail, "/reset/").startswith(url("/reset/"))

    # a request on a loopback name (the test client's default) still links to the base URL
    configured.smtp.clear()
    assert configured.post(configured.client(), "/reset", email="ben@acme.test").status_code == 200
    mail = configured.smtp.wait_for(to="ben@acme.test")
    assert f"{BASE}/acme-support/reset/" in mail.text and "localhost" not in mail.text


def test_review_3_reset_without_base_url_refuses_forged_host(unconfigured: AuthHarness) -> None:
    """The reported case: PORTALIS_BASE_URL unset. Only loopback names are served."""
    refused_for_forged_host(unconfigured, "/reset", email="anna@acme.test")
    assert unconfigured.smtp.to("anna@acme.test") == []
    response = unconfigured.post(unconfigured.client(), "/reset", email="anna@acme.test")
    assert response.status_code == 200
    mail = unconfigured.smtp.wait_for(to="anna@acme.test")
    assert "http://localhost/acme-support/reset/" in mail.text


def test_review_3_invitation_link_ignores_forged_host(configured: AuthHarness) -> None:
    client = configured.client()
    assert configured.login(client, "anna@acme.test").status_code == 303
    forge(client, EVIL)
    form = {"action": "invite", "email": "carla@acme.test", "name": "Carla", "role": "customer"}
    before = mail_jobs(configured)
    forged = client.post(
        url("/account/users"),
        data={"csrf_token": configured.csrf(client), **form},
        headers={"Host": EVIL},
    )
    assert forged.status_code == 400
    assert mail_jobs(configured) == before
    with configured.engine.connect() as conn:
        users = configured.portal.tables["user"]
        query = sa.select(users.c.id).where(users.c.email == "carla@acme.test")
        assert conn.execute(query).first() is None  # nobody was invited

    invited = configured.post(client, "/account/users", **form)
    assert invited.status_code == 303
    mail = configured.smtp.wait_for(to="carla@acme.test")
    assert f"{BASE}/acme-support/invite/" in mail.text and "localhost" not in mail.text


def test_review_3_notification_link_ignores_forged_host(configured: AuthHarness) -> None:
    tickets = configured.portal.tables["ticket"]
    anna = int(configured.user("anna@acme.test")["id"])
    with configured.engine.connect() as conn:
        ticket = conn.execute(
            sa.select(tickets.c.id, tickets.c.version)
            .where(tickets.c.created_by == anna, tickets.c.status == "open")
            .order_by(tickets.c.id)
        ).first()
    assert ticket is not None
    sam = configured.client()
    assert (
        configured.login(sam, "sam@support.test", PASSWORDS["sam@support.test"]).status_code == 303
    )
    act = f"/_act/ticket/{ticket.id}/transition"
    version = int(ticket.version)
    assert configured.post(sam, act, name="start", version=str(version)).status_code == 303
    forge(sam, EVIL)
    before = mail_jobs(configured)
    forged = sam.post(
        url(act),
        data={"csrf_token": configured.csrf(sam), "name": "resolve", "version": str(version + 1),
              "resolution": "Fixed."},
        headers={"Host": EVIL},
    )  # fmt: skip
    assert forged.status_code == 400
    assert mail_jobs(configured) == before
    resolved = configured.post(
        sam, act, name="resolve", version=str(version + 1), resolution="Fixed."
    )
    assert resolved.status_code == 303
    mail = configured.smtp.wait_for(to="anna@acme.test")
    assert f"{BASE}/acme-support/tickets/{ticket.id}" in mail.text
    assert "localhost" not in mail.text


def test_review_3_domains_and_health_probes(configured: AuthHarness) -> None:
    """The base URL's host is served; health probes (often by IP) answer on any Host."""
    client = configured.client()
    assert client.get(url("/login"), headers={"Host": "support.example.test"}).status_code == 200
    assert (
        client.get(url("/login"), headers={"Host": "support.example.test.evil"}).status_code == 400
    )
    assert client.get("/", headers={"Host": EVIL}).status_code == 400
    assert client.get("/_health", headers={"Host": "10.0.0.7:8000"}).status_code == 200
    assert client.get("/_ready", headers={"Host": "10.0.0.7:8000"}).status_code == 200


def _serve_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALIS_")}
    env.update(
        PORTALIS_DATABASE_URL=database_url,
        PORTALIS_INSTANCE_PATH=str(tmp_path / "instance"),
        PORTALIS_SECRET_KEY="test-secret",
        **extra,
    )
    return env


def test_review_3_serve_refuses_without_base_url(database_url: str, tmp_path: Path) -> None:
    env = _serve_env(database_url, tmp_path)
    for command in (
        [PORTALIS, "serve", "--bind", f"127.0.0.1:{free_port()}", "--workers", "1"],
        [PORTALIS, "run", "--host", "0.0.0.0", "--port", str(free_port())],  # noqa: S104
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stderr
        assert "PORTALIS_BASE_URL" in done.stderr
        assert "Traceback" not in done.stderr
    bad = {**env, "PORTALIS_BASE_URL": "support.example.test"}  # no scheme: no host name
    done = subprocess.run(
        [PORTALIS, "serve", "--bind", f"127.0.0.1:{free_port()}"],
        env=bad, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "not an http(s) URL" in done.stderr


def test_review_3_dev_server_links_use_the_loopback_host(
    database_url: str, tmp_path: Path, portalis_checker: Checker, smtp_server: SmtpServer
) -> None:
    """`portalis run` on 127.0.0.1 without a base URL: links use 127.0.0.1:<port>, and a
    forged Host is refused (the embedded worker sends the mail)."""
    engine = create_engine(database_url)
    try:
        deploy_dir(engine, portalis_checker, BLUEPRINTS / "b2c")
    finally:
        engine.dispose()
    port = free_port()
    env = _serve_env(database_url, tmp_path, PORTALIS_SMTP_URL=smtp_server.url)
    log = tmp_path / "run.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [PORTALIS, "run", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        root = f"http://127.0.0.1:{port}"
        _wait_ready(root, server, log)
        browser = requests.Session()
        page = browser.get(f"{root}/acme-support/reset", timeout=10)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert page.status_code == 200 and token
        form = {"csrf_token": token.group(1), "email": "anna@acme.test"}
        forged = browser.post(
            f"{root}/acme-support/reset", data=form, headers={"Host": EVIL}, timeout=10
        )
        assert forged.status_code == 400
        sent = browser.post(f"{root}/acme-support/reset", data=form, timeout=10)
        assert sent.status_code == 200
        mail = smtp_server.wait_for(to="anna@acme.test", timeout=20)
        assert f"{root}/acme-support/reset/" in mail.text
        assert len(smtp_server.to("anna@acme.test")) == 1 and EVIL not in mail.text
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait_ready(
    root: str, server: subprocess.Popen[bytes], log: Path, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited:\n{log.read_text()}")
        try:
            if requests.get(f"{root}/_ready", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not become ready")

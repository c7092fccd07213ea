"""A session's signed CSRF token is handed out again for up to a minute (one signature per
session and minute, not per page), is accepted, and is never another session's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from portalis.runtime import security
from portalis.testing.web import PortalClient, WebPortal

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def web(sqlite_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(sqlite_url, tmp_path)
    yield portal
    portal.close()


def token(client: PortalClient, path: str = "/tickets") -> str:
    found = TOKEN.search(client.get(path).text)
    assert found, "no CSRF field on the page"
    return found.group(1)


def test_a_session_gets_its_signed_token_again_within_a_minute(
    web: WebPortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(security.time, "monotonic", lambda: clock[0])
    signed: list[str] = []
    real = security.generate_csrf

    def signing() -> str:
        signed.append(str(real()))
        return signed[-1]

    monkeypatch.setattr(security, "generate_csrf", signing)
    ben, anna = web.client("ben@acme.test"), web.client("anna@acme.test")
    first = token(ben)
    clock[0] += 30
    assert token(ben, "/tickets/new") == first
    assert signed == [first]
    assert token(anna) != first  # another session, another secret
    # the reused token is a valid one: a form posted with it is accepted
    ticket = web.record_id("ticket", subject="Cannot download my contract")
    sent = ben.client.post(
        ben.url(f"/tickets/{ticket}"),
        data={"_block": "3", "body": "Reused token", "csrf_token": first},
    )
    assert sent.status_code == 303
    # a minute on, the session's token is signed again (with the time of that minute)
    clock[0] += security.REUSE_SECONDS
    token(ben)
    token(ben)
    assert len(signed) == 3

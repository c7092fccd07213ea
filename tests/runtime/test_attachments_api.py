"""The attachments API: multipart uploads, versions, downloads and deletes under
`/api/v1/<entity>/<id>/attachments`, with the API's conventions (problem+json, CSRF header,
OpenAPI) — SECURITY A.21, A.39, A.40, A.42, A.44."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.data.system_tables import attachment_versions, attachments, audit
from portalis.testing.web import PDF, PortalClient, WebPortal

LOG = b"2026-12-07 10:00 ERROR something broke\n"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance")
    yield portal
    portal.close()


def new_ticket(browser: PortalClient, subject: str) -> int:
    response = browser.client.post(
        browser.url("/api/v1/ticket"), json={"subject": subject},
        headers={"X-CSRF-Token": browser.csrf},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    return int(response.json["id"])


def upload(browser: PortalClient, path: str, content: bytes, name: str, **form: str) -> object:
    data = {"file": (io.BytesIO(content), name), **form}
    return browser.client.post(
        browser.url(path), data=data, headers={"X-CSRF-Token": browser.csrf},
        content_type="multipart/form-data",
    )  # fmt: skip


def rows(web: WebPortal) -> tuple[int, int]:
    with web.engine.connect() as conn:
        return (
            conn.execute(sa.select(sa.func.count()).select_from(attachments)).scalar_one(),
            conn.execute(sa.select(sa.func.count()).select_from(attachment_versions)).scalar_one(),
        )


def test_api_upload_list_version_download_delete(web: WebPortal) -> None:
    anna = web.client("anna@acme.test")
    ticket = new_ticket(anna, "API documents")
    base = f"/api/v1/ticket/{ticket}/attachments"
    response = upload(anna, base, LOG, "app.log", folder="logs")
    assert response.status_code == 201, response.text
    doc = response.json
    assert doc["folder"] == "logs" and doc["name"] == "app.log" and doc["current_version"] == 1
    assert response.headers["Location"].endswith(f"{base}/{doc['id']}")
    assert doc["versions"][0]["created_by"]["name"] == "Anna Berg"
    # the default folder is the first one declared
    assert upload(anna, base, PDF, "shot.pdf").json["folder"] == "screenshots"
    listing = anna.get(base)
    assert listing.status_code == 200
    assert [d["name"] for d in listing.json["items"]] == ["shot.pdf", "app.log"]
    # a new version keeps the first
    response = upload(anna, f"{base}/{doc['id']}/versions", LOG + b"again\n", "app-2.log")
    assert response.status_code == 201, response.text
    assert response.json["current_version"] == 2 and response.json["name"] == "app-2.log"
    versions = anna.get(f"{base}/{doc['id']}/versions").json["items"]
    assert [(v["number"], v["current"]) for v in versions] == [(2, True), (1, False)]
    current = anna.get(f"{base}/{doc['id']}/content")
    assert current.data == LOG + b"again\n"
    assert current.headers["Content-Disposition"].startswith("attachment;")
    assert current.headers["X-Content-Type-Options"] == "nosniff"
    assert anna.get(f"{base}/{doc['id']}/versions/1/content").data == LOG
    assert anna.get(f"{base}/{doc['id']}/versions/9/content").status_code == 404
    # a colleague reads, but may not change, Anna's ticket
    ben = web.client("ben@acme.test")
    assert ben.get(f"{base}/{doc['id']}/content").data == LOG + b"again\n"
    before = rows(web)
    refused = upload(ben, base, PDF, "x.pdf")
    assert refused.status_code == 403
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert (
        ben.client.delete(
            ben.url(f"{base}/{doc['id']}"), headers={"X-CSRF-Token": ben.csrf}
        ).status_code
        == 403
    )
    assert rows(web) == before
    # delete
    deleted = anna.client.delete(
        anna.url(f"{base}/{doc['id']}"), headers={"X-CSRF-Token": anna.csrf}
    )
    assert deleted.status_code == 204
    assert anna.get(f"{base}/{doc['id']}").status_code == 404
    with web.engine.connect() as conn:
        actions = list(
            conn.execute(
                sa.select(audit.c.action)
                .where(audit.c.record_id == ticket, audit.c.action.like("attachment_%"))
                .order_by(audit.c.id)
            ).scalars()
        )
    assert actions == [
        "attachment_add",
        "attachment_add",
        "attachment_version",
        "attachment_delete",
    ]


def test_api_upload_refusals(web: WebPortal) -> None:
    anna = web.client("anna@acme.test")
    ticket = new_ticket(anna, "Refusals")
    base = f"/api/v1/ticket/{ticket}/attachments"
    before = rows(web)
    # CSRF header missing → 403
    response = anna.client.post(
        anna.url(base),
        data={"file": (io.BytesIO(PDF), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403 and response.json["code"] == "csrf"
    # a JSON body → 415
    response = anna.client.post(
        anna.url(base), json={"file": "x"}, headers={"X-CSRF-Token": anna.csrf}
    )
    assert response.status_code == 415
    # no file → 422
    response = anna.client.post(
        anna.url(base), data={"folder": "logs"}, headers={"X-CSRF-Token": anna.csrf},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 422 and "file" in response.json["errors"]
    # 1 byte over the limit → 413; wrong type and mismatching content → 422
    assert upload(anna, base, b"x" * (10 * 1024 * 1024 + 1), "big.txt").status_code == 413
    wrong = upload(anna, base, PDF, "tool.exe")
    assert wrong.status_code == 422 and wrong.json["errors"]["file"][0]["code"] == "file-type"
    sniffed = upload(anna, base, PDF, "shot.png")
    assert sniffed.status_code == 422 and sniffed.json["errors"]["file"][0]["code"] == "content"
    folder = upload(anna, base, PDF, "a.pdf", folder="nope")
    assert folder.status_code == 422 and "folder" in folder.json["errors"]
    assert rows(web) == before


def test_api_upload_part_without_a_name_is_refused(web: WebPortal) -> None:
    """A multipart part without a name (`Content-Disposition: form-data` alone) is no field
    and no file: 400 before the CSRF check or the upload read the form, never a server error."""
    anna = web.client("anna@acme.test")
    ticket = new_ticket(anna, "Odd names")
    body = b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"
    response = anna.client.post(
        anna.url(f"/api/v1/ticket/{ticket}/attachments"),
        data=body,
        content_type="multipart/form-data; boundary=b",
        headers={"X-CSRF-Token": anna.csrf},
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_api_entity_without_attachments_is_404(web: WebPortal) -> None:
    anna = web.client("anna@acme.test")
    message = web.record_id("message")
    assert anna.get(f"/api/v1/message/{message}/attachments").status_code == 404
    assert (
        anna.client.options(anna.url(f"/api/v1/message/{message}/attachments")).status_code == 404
    )


def test_api_openapi_documents_attachment_routes(web: WebPortal) -> None:
    anna = web.client("anna@acme.test")
    document = anna.get("/api/v1/openapi.json").json
    paths = document["paths"]
    base = "/ticket/{id}/attachments"
    assert set(paths[base]) >= {"get", "post"}
    body = paths[base]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["properties"]["folder"]["enum"] == ["screenshots", "logs", "other"]
    assert "delete" in paths[base + "/{document}"]
    assert "post" in paths[base + "/{document}/versions"]
    assert "get" in paths[base + "/{document}/versions/{number}/content"]
    assert "Attachment" in document["components"]["schemas"]
    assert not any(p.startswith("/message/{id}/attachments") for p in paths)
    # OPTIONS agrees with the document
    ticket = new_ticket(anna, "Options")
    allow = anna.client.options(anna.url(f"/api/v1/ticket/{ticket}/attachments")).headers["Allow"]
    assert "POST" in allow and "GET" in allow

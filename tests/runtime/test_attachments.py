"""Attachments on records: several documents per ticket, folders, versions, rights, audit and
the refusals that store nothing (SECURITY A.21, A.39–A.42)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.data.permissions import Actor
from portalis.engine.data.system_tables import attachment_versions, attachments, audit
from portalis.testing.web import PDF, PortalClient, WebPortal

PNG = (
    bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489") + b"\0" * 40
)
LOG = b"2026-12-07 10:00 ERROR something broke\n"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance")
    yield portal
    portal.close()


def english(web: WebPortal, email: str) -> PortalClient:
    """A signed-in browser that chose English (Anna's own locale is German)."""
    browser = web.client(email)
    browser.get("/tickets?lang=en")
    return browser


def new_ticket(browser: PortalClient, subject: str) -> int:
    response = browser.post("/tickets/new", {"_block": "0", "subject": subject})
    assert response.status_code == 303, response.text
    return int(response.headers["Location"].rsplit("/", 1)[1])


def block_index(web: WebPortal) -> str:
    page = web.compiled.model.pages["ticket"]
    return str(next(b.index for b in page.blocks if b.type == "attachments"))


def attach(
    web: WebPortal, browser: PortalClient, ticket: int, content: bytes, name: str, **form: str
) -> object:
    data = {"_block": block_index(web), "op": "upload", "file": (io.BytesIO(content), name), **form}
    return browser.post(f"/tickets/{ticket}", data, content_type="multipart/form-data")


def new_version(
    web: WebPortal, browser: PortalClient, ticket: int, doc: str, content: bytes, name: str
) -> object:
    data = {
        "_block": block_index(web), "op": "version", "document": doc,
        "file": (io.BytesIO(content), name),
    }  # fmt: skip
    return browser.post(f"/tickets/{ticket}", data, content_type="multipart/form-data")


def document_ids(web: WebPortal, ticket: int) -> list[str]:
    with web.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(attachments.c.id)
                .where(attachments.c.record_id == ticket, attachments.c.entity == "ticket")
                .order_by(attachments.c.created_at)
            ).scalars()
        )


def counts(web: WebPortal) -> tuple[int, int, int]:
    with web.engine.connect() as conn:
        return (
            conn.execute(sa.select(sa.func.count()).select_from(attachments)).scalar_one(),
            conn.execute(sa.select(sa.func.count()).select_from(attachment_versions)).scalar_one(),
            conn.execute(
                sa.select(sa.func.count()).where(audit.c.action.like("attachment_%"))
            ).scalar_one(),
        )


def stored_files(tmp_path: Path) -> list[Path]:
    root = tmp_path / "instance" / "files"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def audit_actions(web: WebPortal, ticket: int) -> list[tuple[str, dict]]:
    with web.engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit.c.action, audit.c.detail)
            .where(audit.c.entity == "ticket", audit.c.record_id == ticket)
            .where(audit.c.action.like("attachment_%"))
            .order_by(audit.c.id)
        )
        return [(r.action, dict(r.detail or {})) for r in rows]


def test_deploy_creates_attachment_tables(web: WebPortal) -> None:
    names = set(sa.inspect(web.engine).get_table_names())
    assert {"portalis_attachment", "portalis_attachment_version"} <= names


def test_upload_folders_versions_download_delete(web: WebPortal, tmp_path: Path) -> None:
    anna = english(web, "anna@acme.test")
    ticket = new_ticket(anna, "Screen stays blank")
    response = attach(web, anna, ticket, PNG, "blank.png", folder="screenshots")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/tickets/{ticket}#block-{block_index(web)}")
    assert attach(web, anna, ticket, LOG, "app.log", folder="logs").status_code == 303
    page = anna.get(f"/tickets/{ticket}").text
    page = page[page.index("block-attachments") :]
    # grouped by folder, in the declared order
    assert page.index("Screenshots") < page.index("blank.png") < page.index("Logs")
    assert page.index("Logs") < page.index("app.log")
    png_doc, log_doc = document_ids(web, ticket)
    download = anna.get(f"/_attachments/ticket/{ticket}/{png_doc}")
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["Content-Disposition"].startswith('attachment; filename="blank.png"')
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    # a new version keeps the old one, which stays downloadable
    assert new_version(web, anna, ticket, log_doc, LOG + b"more\n", "app-2.log").status_code == 303
    page = anna.get(f"/tickets/{ticket}").text
    assert "2 versions" in page and "app-2.log" in page and "Anna Berg" in page
    assert anna.get(f"/_attachments/ticket/{ticket}/{log_doc}").data == LOG + b"more\n"
    assert anna.get(f"/_attachments/ticket/{ticket}/{log_doc}/1").data == LOG
    assert anna.get(f"/_attachments/ticket/{ticket}/{log_doc}/3").status_code == 404
    # delete takes every version and its bytes
    before = len(stored_files(tmp_path))
    data = {"_block": block_index(web), "op": "delete", "document": log_doc}
    assert anna.post(f"/tickets/{ticket}", data).status_code == 303
    assert document_ids(web, ticket) == [png_doc]
    assert len(stored_files(tmp_path)) == before - 2
    assert anna.get(f"/_attachments/ticket/{ticket}/{log_doc}/1").status_code == 404
    actions = audit_actions(web, ticket)
    assert [a for a, _ in actions] == [
        "attachment_add", "attachment_add", "attachment_version", "attachment_delete",
    ]  # fmt: skip
    assert actions[2][1]["version"] == 2 and actions[3][1]["name"] == "app-2.log"
    # the record's history (shown to account admins) tells the story
    history = anna.get(f"/tickets/{ticket}").text
    history = history[history.index('class="history"') :]
    assert "attached “blank.png”" in history
    assert "uploaded version 2 of “app-2.log”" in history
    assert "deleted the document “app-2.log”" in history


def test_readers_download_only_updaters_change(web: WebPortal) -> None:
    anna = english(web, "anna@acme.test")
    ticket = new_ticket(anna, "Shared with colleagues")
    assert attach(web, anna, ticket, PDF, "contract.pdf").status_code == 303
    (doc,) = document_ids(web, ticket)
    # a colleague reads the ticket (account scope) but may not update it (own scope)
    ben = english(web, "ben@acme.test")
    page = ben.get(f"/tickets/{ticket}").text
    assert "contract.pdf" in page
    assert 'name="op" value="upload"' not in page and 'value="delete"' not in page
    assert ben.get(f"/_attachments/ticket/{ticket}/{doc}").data == PDF
    before = counts(web)
    assert attach(web, ben, ticket, PDF, "mine.pdf").status_code == 403
    assert new_version(web, ben, ticket, doc, PDF, "v2.pdf").status_code == 403
    data = {"_block": block_index(web), "op": "delete", "document": doc}
    assert ben.post(f"/tickets/{ticket}", data).status_code == 403
    assert counts(web) == before
    # the agent updates every ticket
    sam = english(web, "sam@support.test")
    assert attach(web, sam, ticket, LOG, "trace.log", folder="logs").status_code == 303
    assert len(document_ids(web, ticket)) == 2


def test_asvs_8_2_2_idor_attachment_routes_404(web: WebPortal) -> None:
    anna = english(web, "anna@acme.test")
    ticket = new_ticket(anna, "Acme secret ticket")
    assert attach(web, anna, ticket, PDF, "secret.pdf").status_code == 303
    (doc,) = document_ids(web, ticket)
    before = counts(web)
    for browser in (english(web, "nina@globex.test"),):
        for path in (
            f"/tickets/{ticket}",
            f"/_attachments/ticket/{ticket}/{doc}",
            f"/_attachments/ticket/{ticket}/{doc}/1",
            f"/api/v1/ticket/{ticket}/attachments",
            f"/api/v1/ticket/{ticket}/attachments/{doc}",
            f"/api/v1/ticket/{ticket}/attachments/{doc}/content",
            f"/api/v1/ticket/{ticket}/attachments/{doc}/versions",
            f"/api/v1/ticket/{ticket}/attachments/{doc}/versions/1/content",
        ):
            response = browser.get(path)
            assert response.status_code == 404, path
            assert PDF not in response.data and b"secret.pdf" not in response.data
        assert attach(web, browser, ticket, PDF, "x.pdf").status_code == 404
        assert new_version(web, browser, ticket, doc, PDF, "x.pdf").status_code == 404
        data = {"_block": block_index(web), "op": "delete", "document": doc}
        assert browser.post(f"/tickets/{ticket}", data).status_code == 404
        headers = {"X-CSRF-Token": browser.csrf}
        api = browser.url(f"/api/v1/ticket/{ticket}/attachments")
        upload = {"file": (io.BytesIO(PDF), "x.pdf")}
        assert browser.client.post(api, data=upload, headers=headers).status_code == 404
        upload = {"file": (io.BytesIO(PDF), "x.pdf")}
        versions = f"{api}/{doc}/versions"
        assert browser.client.post(versions, data=upload, headers=headers).status_code == 404
        assert browser.client.delete(f"{api}/{doc}", headers=headers).status_code == 404
    # a document id of another record is unknown on one's own record
    nina = english(web, "nina@globex.test")
    own = new_ticket(nina, "Globex ticket")
    assert nina.get(f"/_attachments/ticket/{own}/{doc}").status_code == 404
    assert nina.get(f"/api/v1/ticket/{own}/attachments/{doc}/content").status_code == 404
    assert counts(web) == before


@pytest.mark.parametrize(
    ("content", "name", "status", "message"),
    [
        (b"x" * (10 * 1024 * 1024 + 1), "big.txt", 413, "larger than 10 MB"),
        (PDF, "tool.exe", 422, "not allowed"),
        (PDF, "shot.png", 422, "does not match"),
        (PNG, "notes.txt", 422, "does not match"),
        (b"", "empty.txt", 422, "empty"),
    ],
)
def test_asvs_5_2_refused_uploads_store_nothing(
    web: WebPortal, tmp_path: Path, content: bytes, name: str, status: int, message: str
) -> None:
    anna = english(web, "anna@acme.test")
    ticket = new_ticket(anna, "Refused uploads")
    assert attach(web, anna, ticket, PDF, "kept.pdf").status_code == 303
    (doc,) = document_ids(web, ticket)
    before, files_before = counts(web), stored_files(tmp_path)
    response = attach(web, anna, ticket, content, name)
    assert response.status_code == status
    assert message in response.text and 'role="alert"' in response.text
    response = new_version(web, anna, ticket, doc, content, name)
    assert response.status_code == status and message in response.text
    assert counts(web) == before
    assert stored_files(tmp_path) == files_before
    assert anna.get(f"/_attachments/ticket/{ticket}/{doc}").data == PDF


def test_unknown_folder_is_refused(web: WebPortal) -> None:
    anna = english(web, "anna@acme.test")
    ticket = new_ticket(anna, "Folder check")
    before = counts(web)
    response = attach(web, anna, ticket, PDF, "a.pdf", folder="secret")
    assert response.status_code == 422 and "choose one of the folders" in response.text
    assert counts(web) == before


def test_deleting_the_record_deletes_its_documents(web: WebPortal) -> None:
    anna = english(web, "anna@acme.test")
    ticket = new_ticket(anna, "Going away")
    assert attach(web, anna, ticket, PDF, "gone.pdf").status_code == 303
    store, system = web.store, Actor.system()
    store.delete(system, "ticket", ticket)
    assert document_ids(web, ticket) == []
    with web.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(attachment_versions)).scalar_one()
            == 0
        )


def test_asvs_5_3_active_content_is_never_inline(web: WebPortal) -> None:
    anna = english(web, "anna@acme.test")
    ticket = new_ticket(anna, "Active content")
    assert attach(web, anna, ticket, b"<script>alert(1)</script>\n", "x.txt").status_code == 303
    (doc,) = document_ids(web, ticket)
    response = anna.get(f"/_attachments/ticket/{ticket}/{doc}")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]

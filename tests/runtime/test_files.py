"""Uploads and downloads: limits, sniffing, storage, and who may download (SECURITY A.39–A.42)."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.runtime.runtime_tables import files
from portalis.runtime.uploads import content_disposition, storage_path
from portalis.testing.web import PDF, PortalClient, WebPortal, upload_ticket

PNG = (
    bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489") + b"\0" * 40
)
NOTES = Path(__file__).parent / "data" / "blocks_notes"
INVOICE = "Invoice 2026-114 is wrong"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance")
    yield portal
    portal.close()


@pytest.fixture
def notes(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "instance", NOTES)
    yield portal
    portal.close()


def raw_upload(browser: PortalClient, disposition: bytes, content: bytes) -> str:
    """Create a ticket from a hand-written multipart body (names a test client cannot send)."""
    parts = [
        b'Content-Disposition: form-data; name="csrf_token"\r\n\r\n' + browser.csrf.encode(),
        b'Content-Disposition: form-data; name="_block"\r\n\r\n0',
        b'Content-Disposition: form-data; name="subject"\r\n\r\nRaw upload',
        b'Content-Disposition: form-data; name="attachment"; '
        + disposition
        + b"\r\nContent-Type: application/pdf\r\n\r\n"
        + content,
    ]
    body = b"".join(b"--XBOUNDARY\r\n" + p + b"\r\n" for p in parts) + b"--XBOUNDARY--\r\n"
    response = browser.client.post(
        browser.url("/tickets/new"),
        data=body,
        content_type="multipart/form-data; boundary=XBOUNDARY",
    )
    assert response.status_code == 303, response.text
    page = browser.get(response.headers["Location"].split("/acme-support", 1)[1]).text
    match = re.search(r'href="/acme-support/_files/([A-Za-z0-9_-]+)" download>', page)
    assert match, page
    return match.group(1)


def upload_note(browser: PortalClient, content: bytes, name: str) -> object:
    return browser.post(
        "/notes/new",
        {"_block": "0", "title": "Doc", "doc": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_upload_and_download_round_trip(web: WebPortal) -> None:
    anna = web.client("anna@acme.test")
    ticket, file_id = upload_ticket(anna, "With file", PDF, "report.pdf")
    assert "report.pdf</a>" in anna.get(f"/tickets/{ticket}").text
    response = anna.get(f"/_files/{file_id}")
    assert response.status_code == 200
    assert response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    # a colleague of the same account reads the ticket, so the file too
    assert web.client("ben@acme.test").get(f"/_files/{file_id}").data == PDF


def test_r14_stored_under_generated_name_with_checksum(web: WebPortal, tmp_path: Path) -> None:
    _, file_id = upload_ticket(
        web.client("anna@acme.test"), "With file", PDF, "../../etc/passwd.pdf"
    )
    path = storage_path(tmp_path / "instance" / "files", "acme-support", file_id)
    assert path.read_bytes() == PDF
    assert path.parent.name == file_id[:2]
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".upload-")]
    with web.engine.connect() as conn:
        row = conn.execute(sa.select(files).where(files.c.id == file_id)).mappings().one()
    assert row["name"] == "passwd.pdf"
    assert row["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert row["size"] == len(PDF) and row["portal"] == "acme-support"
    assert row["created_by"] == web.record_id("user", email="anna@acme.test")


def test_asvs_8_2_2_idor_attachment_404(web: WebPortal) -> None:
    _, file_id = upload_ticket(web.client("anna@acme.test"), "With file", PDF, "secret.pdf")
    assert web.client("nina@globex.test").get(f"/_files/{file_id}").status_code == 404
    assert web.client().get(f"/_files/{file_id}").status_code == 404
    assert web.client("sam@support.test").get(f"/_files/{file_id}").status_code == 200


def test_unattached_upload_is_not_downloadable(web: WebPortal) -> None:
    anna = web.client("anna@acme.test")
    response = anna.post(
        "/tickets/new",
        {"_block": "0", "subject": "", "attachment": (io.BytesIO(PDF), "draft.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    kept = re.search(r'name="attachment__kept" value="([^"]+)"', response.text)
    assert kept, response.text
    assert anna.get(f"/_files/{kept.group(1)}").status_code == 404  # no record holds it yet
    # re-submitting keeps the upload without choosing the file again
    done = anna.post(
        "/tickets/new", {"_block": "0", "subject": "Now", "attachment__kept": kept.group(1)}
    )
    assert done.status_code == 303
    assert anna.get(f"/_files/{kept.group(1)}").data == PDF


def test_asvs_8_2_2_cannot_attach_someone_elses_file(web: WebPortal) -> None:
    _, file_id = upload_ticket(web.client("anna@acme.test"), "With file", PDF, "hers.pdf")
    nina = web.client("nina@globex.test")
    response = nina.post(
        "/tickets/new", {"_block": "0", "subject": "Steal", "attachment__kept": file_id}
    )
    assert response.status_code == 422
    assert "not available" in response.text
    assert nina.get(f"/_files/{file_id}").status_code == 404
    assert "Steal" not in nina.get("/tickets").text


def test_asvs_5_2_1_upload_one_byte_over_413(notes: WebPortal) -> None:
    mo = notes.client("mo@notes.test")
    limit = int(0.001 * 1024 * 1024)
    assert upload_note(mo, b"a" * (limit + 1), "big.txt").status_code == 413  # type: ignore[attr-defined]
    assert upload_note(mo, b"a" * limit, "fits.txt").status_code == 303  # type: ignore[attr-defined]
    titles = [r["title"] for r in notes.store.list(notes.actor("mo@notes.test"), "note").records]
    assert titles.count("Doc") == 1


def test_asvs_5_2_1_b2c_limit_from_field_config(web: WebPortal) -> None:
    ten_mib = 10 * 1024 * 1024
    response = web.client("anna@acme.test").post(
        "/tickets/new",
        {
            "_block": "0",
            "subject": "Huge",
            "attachment": (io.BytesIO(b"a" * (ten_mib + 1)), "huge.txt"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "Traceback" not in response.text


def test_asvs_5_2_2_extension_and_content_must_agree(notes: WebPortal) -> None:
    mo = notes.client("mo@notes.test")
    mismatch = upload_note(mo, PDF, "picture.png")
    assert mismatch.status_code == 422  # type: ignore[attr-defined]
    assert "does not match its extension" in mismatch.text  # type: ignore[attr-defined]
    assert upload_note(mo, PNG, "fake.pdf").status_code == 422  # type: ignore[attr-defined]
    assert upload_note(mo, b"MZ\x90\x00binary\x00", "notes.txt").status_code == 422  # type: ignore[attr-defined]
    assert upload_note(mo, b"\xff\xfe not utf-8", "notes.txt").status_code == 422  # type: ignore[attr-defined]
    refused = upload_note(mo, b"MZ", "tool.exe")
    assert refused.status_code == 422 and "not allowed" in refused.text  # type: ignore[attr-defined]
    assert upload_note(mo, b"", "empty.txt").status_code == 422  # type: ignore[attr-defined]
    assert upload_note(mo, PNG, "ok.png").status_code == 303  # type: ignore[attr-defined]


def test_asvs_5_3_1_html_is_never_served_inline(notes: WebPortal) -> None:
    mo = notes.client("mo@notes.test")
    page = b"<html><body><script>alert(document.cookie)</script></body></html>"
    ids = []
    for name in ("page.txt", "page.html", "image.svg"):
        response = upload_note(mo, page, name)
        assert response.status_code == 303, name  # type: ignore[attr-defined]
        detail = mo.get(response.headers["Location"].split("/notes-test", 1)[1]).text  # type: ignore[attr-defined]
        ids.append(re.search(r"/_files/([A-Za-z0-9_-]+)", detail).group(1))  # type: ignore[union-attr]
    as_text, as_html, as_svg = (mo.get(f"/_files/{i}") for i in ids)
    assert as_text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert as_html.headers["Content-Type"] == "application/octet-stream"
    assert as_svg.headers["Content-Type"] == "application/octet-stream"
    for response in (as_text, as_html, as_svg):
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]
        assert response.data == page


@pytest.mark.parametrize(
    "path",
    [
        "/_files/..%2F..%2F..%2Fetc%2Fpasswd",
        "/_files/%2e%2e%2f%2e%2e%2fsecret_key_file_x",
        "/_files/..",
        "/_files/%00aaaaaaaaaaaaaaaaaaaa",
        "/_files/aaaaaaaaaaaaaaaa%00",
        "/_files//etc/passwd",
        "/_files/%2Fetc%2Fpasswd",
        "/_files/C:%5Cwindows%5Cwin.ini",
        "/_files/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_asvs_5_3_2_traversal_ids_404(web: WebPortal, path: str) -> None:
    assert web.client("sam@support.test").get(path).status_code == 404


def test_asvs_5_4_1_content_disposition_crlf(web: WebPortal) -> None:
    anna = web.client("anna@acme.test")
    # RFC 2231 encoding lets a raw client put CR LF into the name the server decodes
    name = b"filename*=UTF-8''evil%0D%0ASet-Cookie%3A%20pwned%3D1%0D%0A.pdf"
    file_id = raw_upload(anna, name, PDF)
    response = anna.get(f"/_files/{file_id}")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith("attachment; filename=")
    assert (
        content_disposition("a\r\nb\x00c.txt")
        == "attachment; filename=\"abc.txt\"; filename*=UTF-8''abc.txt"
    )


def test_asvs_5_4_1_non_ascii_name_rfc6266(web: WebPortal) -> None:
    anna = web.client("anna@acme.test")
    file_id = raw_upload(anna, 'filename="Rechnung März %22final%22.pdf"'.encode(), PDF)
    disposition = anna.get(f"/_files/{file_id}").headers["Content-Disposition"]
    assert "filename*=UTF-8''Rechnung%20M%C3%A4rz%20%22final%22.pdf" in disposition
    assert 'filename="Rechnung Marz _final_.pdf"' in disposition


def test_r14_checksum_mismatch_500_generic(web: WebPortal, tmp_path: Path) -> None:
    anna = web.client("anna@acme.test")
    _, file_id = upload_ticket(anna, "With file", PDF, "report.pdf")
    path = storage_path(tmp_path / "instance" / "files", "acme-support", file_id)
    path.write_bytes(PDF.replace(b"1.4", b"1.7"))
    response = anna.get(f"/_files/{file_id}")
    assert response.status_code == 500
    assert "Traceback" not in response.text and "%PDF" not in response.text
    path.unlink()
    assert anna.get(f"/_files/{file_id}").status_code == 500


def test_edit_replaces_and_removes_file(notes: WebPortal) -> None:
    mo = notes.client("mo@notes.test")
    created = upload_note(mo, b"first", "a.txt")
    note = int(created.headers["Location"].rsplit("/", 1)[1])  # type: ignore[attr-defined]
    form = mo.get(f"/notes/{note}/edit").text
    assert "Current file:" in form and "a.txt</a>" in form and 'name="doc__clear"' in form
    kept = mo.post(f"/notes/{note}/edit", {"_block": "0", "version": "1", "title": "Renamed"})
    assert kept.status_code == 303
    record = notes.store.get(notes.actor("mo@notes.test"), "note", note)
    assert record["title"] == "Renamed" and record["doc"] is not None
    cleared = mo.post(
        f"/notes/{note}/edit",
        {"_block": "0", "version": "2", "title": "Renamed", "doc__clear": "1"},
    )
    assert cleared.status_code == 303
    assert notes.store.get(notes.actor("mo@notes.test"), "note", note)["doc"] is None

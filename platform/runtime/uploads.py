"""Uploaded bytes: checked, stored under generated names, served only as attachments.

An upload must fit its size limit (one byte over → `UploadTooLarge`, answered with 413),
carry an accepted extension and have content that agrees with the extension (sniffed with
`filetype`; text files must be UTF-8 without NUL bytes). Bytes go to
`<instance>/files/<portal>/<2-char shard>/<id>` through a temporary file that is renamed into
place (R14); the caller records them (a file field's `portalis_file` row, an attached
document's version) and removes them when that fails. Downloads check the SHA-256 and are
always attachments with `nosniff`. Used by file fields (`files`) and attached documents
(`documents`); this module needs no portal, only the application's instance folder.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import re
import secrets
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final
from urllib.parse import quote

import filetype
from flask import Response, abort, current_app, send_file

from portalis.engine.definition.fieldtypes import FileConfig

from .attachments import FILE_ID

log = logging.getLogger("portalis.runtime.uploads")

#: File ids: what `FileType.clean` accepts; checked before any filesystem access.
CHUNK: Final = 64 * 1024
#: Extensions whose content must be UTF-8 text without NUL bytes (no magic number to sniff).
TEXT_EXTENSIONS: Final = frozenset(
    {"txt", "csv", "tsv", "md", "json", "xml", "log", "ics", "vcf", "svg", "html", "htm"}
)
#: Other spellings of the extensions `filetype` reports.
_ALIASES: Final = {"jpeg": "jpg", "jpe": "jpg", "tiff": "tif", "mid": "midi"}
#: Office/ebook formats are zip containers; `filetype` may only see the zip.
_ZIP_FAMILY: Final = frozenset({"docx", "xlsx", "pptx", "odt", "ods", "odp", "epub"})
_KNOWN: Final = frozenset(t.extension for t in filetype.types)
#: The only types served with their own Content-Type (always as attachments); the rest are
#: application/octet-stream, so no upload is ever rendered as HTML or SVG by the browser.
SERVED_TYPES: Final = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "txt": "text/plain",
}
_NAME_FORBIDDEN: Final = re.compile(r"[\x00-\x1f\x7f-\x9f/\\]")


class UploadTooLarge(Exception):
    """The upload exceeds the field's size limit (answered with 413)."""


class UploadRejected(Exception):
    """The upload is refused; `message` is shown next to the field."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params


# -- names and paths ------------------------------------------------------------------------
def clean_name(filename: str | None) -> str:
    """A safe display name: the last path part, no control characters, at most 200 chars."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _NAME_FORBIDDEN.sub("", name).strip().strip(".")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + dot + ext[:9]) if dot and len(ext) <= 9 else name[:200]
    return name


def extension(name: str) -> str:
    """The lower-case extension of `name` (empty when it has none)."""
    _, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def files_root() -> Path:
    """The folder holding every portal's uploads."""
    return Path(current_app.extensions["portalis"].settings.instance_path) / "files"


def storage_path(root: Path, portal: str, file_id: str) -> Path:
    """Where the bytes of `file_id` live; the id is validated first (no traversal)."""
    if FILE_ID.fullmatch(file_id) is None or not re.fullmatch(r"[a-z][a-z0-9-]{1,39}", portal):
        raise ValueError("invalid file id")
    return root / portal / file_id[:2] / file_id


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback and the RFC 6266/5987 UTF-8 name (no CR/LF)."""
    name = _NAME_FORBIDDEN.sub("", name) or "download"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._ ()-]+", "_", ascii_name).strip() or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


# -- storing ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WrittenFile:
    """Checked bytes stored under a generated name (no database row yet)."""

    id: str
    name: str
    content_type: str
    size: int
    sha256: str
    path: Path


def write_upload(slug: str, config: FileConfig, storage: Any, root: Path) -> WrittenFile:
    """Check one uploaded file and store its bytes (temporary file renamed into place, R14).

    Raises UploadTooLarge (413) past `config.max_bytes`, UploadRejected for a refused name,
    extension or content; nothing is left on disk then. The caller records the file in its
    transaction and removes `path` when that fails.
    """
    name = clean_name(getattr(storage, "filename", None))
    if not name:
        raise UploadRejected("name", "the file has no name")
    ext = extension(name)
    if not config.allows(name):
        allowed = ", ".join(sorted(config.accept))
        raise UploadRejected(
            "file-type", "files of this type are not allowed ({allowed})", allowed=allowed
        )
    file_id = secrets.token_urlsafe(24)
    final = storage_path(root, slug, file_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".upload-", dir=final.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            size, digest, head = _copy(storage.stream, out, config.max_bytes, ext)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise UploadRejected("empty", "the file is empty")
        content_type = sniff(ext, head, tmp)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return WrittenFile(file_id, name, content_type, size, digest, final)


def _copy(source: IO[bytes], out: IO[bytes], limit: int, ext: str) -> tuple[int, str, bytes]:
    """Copy at most `limit` bytes; returns (size, sha256, first 8 KiB)."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    decoder = codecs.getincrementaldecoder("utf-8")() if ext in TEXT_EXTENSIONS else None
    while True:
        chunk = source.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise UploadTooLarge(f"upload larger than {limit} bytes")
        if len(head) < 8192:
            head += chunk[: 8192 - len(head)]
        if decoder is not None:
            _check_text(decoder, chunk, final=False)
        digest.update(chunk)
        out.write(chunk)
    if decoder is not None:
        _check_text(decoder, b"", final=True)
    return size, digest.hexdigest(), head


def _check_text(decoder: codecs.IncrementalDecoder, chunk: bytes, *, final: bool) -> None:
    if b"\x00" in chunk:
        raise UploadRejected("content", "the file content does not match its extension")
    try:
        decoder.decode(chunk, final=final)
    except UnicodeDecodeError as exc:
        raise UploadRejected("content", "the file content does not match its extension") from exc


def sniff(ext: str, head: bytes, path: Path) -> str:
    """The content type of a stored upload, or UploadRejected when it contradicts `ext`."""
    guess = filetype.guess(head)
    mismatch = UploadRejected("content", "the file content does not match its extension")
    if ext in TEXT_EXTENSIONS:
        if guess is not None:
            raise mismatch
        return "text/csv" if ext == "csv" else "text/plain"
    wanted = _ALIASES.get(ext, ext)
    if guess is not None:
        found = _ALIASES.get(guess.extension, guess.extension)
        if found == wanted or (wanted in _ZIP_FAMILY and found == "zip"):
            return str(guess.mime)
        raise mismatch
    if wanted in _KNOWN:  # a type with a magic number must show it
        raise mismatch
    return "application/octet-stream"


# -- download -------------------------------------------------------------------------------
def send_stored(path: Path, name: str, sha256: str) -> Response:
    """Serve stored bytes as an attachment named `name` after checking their SHA-256 (R14):
    only a few harmless types keep their Content-Type, never inline, never sniffed."""
    if _sha256(path) != sha256:
        log.error("stored file %s is missing or fails its checksum", path.name)
        abort(500)
    mimetype = SERVED_TYPES.get(extension(name), "application/octet-stream")
    response = send_file(path, mimetype=mimetype, conditional=True, etag=sha256)
    response.headers["Content-Disposition"] = content_disposition(name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()

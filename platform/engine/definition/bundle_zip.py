"""Bundles as zip archives: the builder's export and import of a definition's files.

Export is deterministic (sorted names, fixed timestamps), so the same files give the same
archive, and unpacking it gives exactly the files `portalis export` writes. Import applies the
rules of reading a folder (text files only, the same size and count limits, UTF-8, no hidden or
tool folders) and refuses paths that leave the archive; a single top folder holding
portal.yaml is taken as the definition's root.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from ..problems import Problem
from .bundle import (
    IGNORED_DIRS,
    MAX_BUNDLE_BYTES,
    MAX_FILE_BYTES,
    MAX_FILES,
    ROOT_NAMES,
    TEXT_SUFFIXES,
    Bundle,
)

_EPOCH = (1980, 1, 1, 0, 0, 0)


def bundle_to_zip(bundle: Bundle) -> bytes:
    """The bundle's files as a zip archive (same files → same bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(bundle.files):
            info = zipfile.ZipInfo(path, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, bundle.files[path].encode("utf-8"))
    return out.getvalue()


def bundle_from_zip(data: bytes) -> tuple[Bundle, list[Problem]]:
    """The definition files in a zip archive, and problems for what was refused."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return Bundle.of({}), [
            Problem("zip-invalid", "the upload is not a zip archive", file="upload", line=1, col=1)
        ]
    problems: list[Problem] = []
    entries = [info for info in archive.infolist() if not info.is_dir()]
    prefix = _root_prefix([info.filename for info in entries])
    files: dict[str, str] = {}
    total = 0
    for info in entries:
        name = info.filename[len(prefix) :]
        parts = PurePosixPath(name).parts
        if name.startswith("/") or "\\" in name or ".." in parts or not parts:
            problems.append(
                Problem("zip-path", f"{info.filename} points outside the definition", file=name)
            )
            continue
        if any(p in IGNORED_DIRS or p.startswith(".") for p in parts):
            continue
        if PurePosixPath(name).suffix.lower() not in TEXT_SUFFIXES:
            continue
        if info.file_size > MAX_FILE_BYTES:
            problems.append(
                Problem(
                    "file-too-large",
                    f"{name} is {info.file_size} bytes; the limit is {MAX_FILE_BYTES}",
                    file=name,
                )
            )
            continue
        with archive.open(info) as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        total += len(raw)
        if len(raw) > MAX_FILE_BYTES or len(files) >= MAX_FILES or total > MAX_BUNDLE_BYTES:
            problems.append(
                Problem(
                    "bundle-too-large",
                    f"the definition exceeds {MAX_FILES} files or {MAX_BUNDLE_BYTES} bytes",
                    file=name,
                )
            )
            break
        try:
            files[name] = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(
                Problem(
                    "file-encoding",
                    f"{name} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                    file=name,
                    hint="save the file as UTF-8",
                )
            )
    return Bundle.of(files), problems


def _root_prefix(names: list[str]) -> str:
    """`top/` when every entry sits under one folder that holds portal.yaml; else ''."""
    if any(name in ROOT_NAMES for name in names):
        return ""
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1 and all("/" in name for name in names):
        top = tops.pop()
        if any(f"{top}/{root}" in names for root in ROOT_NAMES):
            return f"{top}/"
    return ""

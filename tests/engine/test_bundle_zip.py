"""Bundles as zip archives: deterministic export, careful import."""

from __future__ import annotations

import io
import zipfile

from portalis.engine.definition.bundle import Bundle
from portalis.engine.definition.bundle_zip import bundle_from_zip, bundle_to_zip

FILES = {"portal.yaml": "portal: demo\r\n# kept as written\r\n", "pages/home.yaml": "pages: {}\n"}


def zip_of(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_the_same_files_give_the_same_archive_and_come_back_unchanged() -> None:
    bundle = Bundle.of(FILES)
    data = bundle_to_zip(bundle)
    assert data == bundle_to_zip(Bundle.of(dict(reversed(list(FILES.items())))))
    back, problems = bundle_from_zip(data)
    assert problems == [] and back.files == bundle.files and back.sha256 == bundle.sha256


def test_one_top_folder_holding_portal_yaml_is_the_root() -> None:
    data = zip_of({"acme/portal.yaml": b"portal: demo\n", "acme/pages/a.yaml": b"pages: {}\n"})
    bundle, problems = bundle_from_zip(data)
    assert problems == [] and set(bundle.files) == {"portal.yaml", "pages/a.yaml"}


def test_unsafe_binary_hidden_and_oversized_entries_are_refused_or_skipped() -> None:
    data = zip_of(
        {
            "portal.yaml": b"portal: demo\n",
            "../evil.yaml": b"x: 1\n",
            "assets/logo.png": b"\x89PNG",
            ".git/config.txt": b"secret\n",
            "latin1.yaml": "caf\xe9: 1\n".encode("latin-1"),
            "big.txt": b"x" * 1_000_001,
        }
    )
    bundle, problems = bundle_from_zip(data)
    assert set(bundle.files) == {"portal.yaml"}
    assert sorted(p.code for p in problems) == ["file-encoding", "file-too-large", "zip-path"]


def test_not_a_zip() -> None:
    bundle, problems = bundle_from_zip(b"PK not really")
    assert bundle.files == {} and [p.code for p in problems] == ["zip-invalid"]

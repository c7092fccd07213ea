"""Bundles: a definition version as its files (relative path → text), content-addressed.

The CLI deploys bundles, the builder edits bundles, export writes bundles. Texts are kept exactly
as read (newlines included), so exporting what was imported gives the same bytes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import MappingProxyType

from ..problems import Problem

#: File endings a bundle carries. Binary assets are not part of a definition.
TEXT_SUFFIXES = frozenset(
    {".yaml", ".yml", ".json", ".css", ".svg", ".md", ".txt", ".html", ".csv", ".po", ".xml"}
)
MAX_FILE_BYTES = 1_000_000
MAX_FILES = 500
MAX_BUNDLE_BYTES = 10_000_000
ROOT_NAMES = ("portal.yaml", "portal.yml", "portal.json")
IGNORED_DIRS = frozenset({".git", "__pycache__", ".venv", "node_modules", "tests"})


@dataclass(frozen=True, slots=True)
class Bundle:
    """The files of one definition version. `sha256` identifies the content."""

    files: Mapping[str, str]

    @classmethod
    def of(cls, files: Mapping[str, str]) -> Bundle:
        """A bundle from a mapping of relative POSIX paths to texts."""
        return cls(MappingProxyType(dict(sorted(files.items()))))

    @property
    def sha256(self) -> str:
        """Hash over every (path, text) pair, independent of insertion order."""
        digest = hashlib.sha256()
        for path in sorted(self.files):
            data = self.files[path].encode("utf-8")
            digest.update(path.encode("utf-8") + b"\0")
            digest.update(str(len(data)).encode() + b"\0")
            digest.update(data)
        return digest.hexdigest()

    @property
    def root(self) -> str | None:
        """The root file name (portal.yaml, portal.yml or portal.json), if present."""
        for name in ROOT_NAMES:
            if name in self.files:
                return name
        return None

    def __iter__(self) -> Iterator[str]:
        return iter(self.files)

    def write(self, directory: str | os.PathLike[str]) -> None:
        """Write every file under `directory`, byte-identical to what was loaded."""
        base = Path(directory)
        for rel, text in self.files.items():
            target = base / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)


def read_bundle(directory: str | os.PathLike[str]) -> tuple[Bundle, list[Problem]]:
    """Read the definition folder into a bundle; unreadable files become problems."""
    base = Path(directory)
    problems: list[Problem] = []
    files: dict[str, str] = {}
    if not base.is_dir():
        return Bundle.of({}), [
            Problem(
                "file-missing",
                f"definition folder {str(base)!r} does not exist",
                file=str(base),
                line=1,
                col=1,
                hint="pass the folder that holds portal.yaml",
            )
        ]
    total = 0
    for path in sorted(base.rglob("*")):
        rel_parts = path.relative_to(base).parts
        if any(part in IGNORED_DIRS or part.startswith(".") for part in rel_parts):
            continue
        if not path.is_file() or path.is_symlink():
            continue
        rel = PurePosixPath(*rel_parts).as_posix()
        if path.suffix.lower() not in TEXT_SUFFIXES:
            continue
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            problems.append(
                Problem(
                    "file-too-large",
                    f"{rel} is {size} bytes; the limit is {MAX_FILE_BYTES}",
                    file=rel,
                    hint="split it into several files with include:",
                )
            )
            continue
        total += size
        if len(files) >= MAX_FILES or total > MAX_BUNDLE_BYTES:
            problems.append(
                Problem(
                    "bundle-too-large",
                    f"the definition exceeds {MAX_FILES} files or {MAX_BUNDLE_BYTES} bytes",
                    file=rel,
                )
            )
            break
        try:
            with open(path, encoding="utf-8", newline="") as fh:
                files[rel] = fh.read()
        except UnicodeDecodeError as exc:
            problems.append(
                Problem(
                    "file-encoding",
                    f"{rel} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                    file=rel,
                    hint="save the file as UTF-8",
                )
            )
    return Bundle.of(files), problems

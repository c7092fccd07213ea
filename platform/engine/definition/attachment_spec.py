"""An entity's `attachments:`: several documents per record, sorted into folders, each kept
with its earlier versions.

The declaration says which folders exist (shown as groups on the record's page), which file
types and sizes an upload may have, how many documents a record may hold and whether a new
upload of a document keeps the older ones. The runtime stores the documents in platform
tables linked to the record and serves them with the rights the actor has on the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .values import Label

#: Largest document an entity may allow, in MiB (the file field's limit too).
MAX_ATTACHMENT_MB: Final = 100
#: Documents a record may hold at most, whatever the declaration says.
MAX_FILES_LIMIT: Final = 500
#: The types a declaration gets when it names none: documents and pictures whose content the
#: runtime can check, none of them rendered by a browser as active content.
DEFAULT_TYPES: Final = ("pdf", "png", "jpg", "jpeg", "gif", "txt", "csv", "docx", "xlsx")
#: File types whose content the runtime checks against the extension (magic numbers, or
#: UTF-8 text for the text types); a type outside this list could carry anything.
CHECKED_TYPES: Final = frozenset(
    {
        *("pdf", "png", "jpg", "jpeg", "gif", "webp", "tif", "tiff", "bmp", "heic"),
        *("txt", "csv", "tsv", "md", "json", "xml", "log", "ics", "vcf", "svg", "html", "htm"),
        *("docx", "xlsx", "pptx", "odt", "ods", "odp", "epub", "zip", "gz", "7z", "rtf"),
        *("mp3", "mp4", "wav", "ogg", "webm", "mov"),
    }
)
#: Spellings of one type: declaring either allows both.
_SAME: Final = {"jpg": "jpeg", "jpeg": "jpg", "tif": "tiff", "tiff": "tif"}
#: The folder of an entity that declares none.
DEFAULT_FOLDER: Final = "documents"


@dataclass(frozen=True, slots=True)
class AttachmentFolder:
    """One folder (category) of an entity's documents."""

    name: str
    label: Label


@dataclass(frozen=True, slots=True)
class AttachmentsSpec:
    """What an entity's `attachments:` allows."""

    folders: tuple[AttachmentFolder, ...]
    types: frozenset[str]
    max_bytes: int
    max_files: int
    versions: bool

    def folder(self, name: str) -> AttachmentFolder | None:
        """The folder called `name`, or None."""
        return next((f for f in self.folders if f.name == name), None)

    @property
    def default_folder(self) -> str:
        """Where a document goes when the upload names no folder: the first one."""
        return self.folders[0].name


def folder_entries(raw: Any) -> list[tuple[str, Any]]:
    """`folders:` as (name, label or None) pairs: a name, or `{name: label}`'s one entry."""
    out: list[tuple[str, Any]] = []
    for item in raw or ():
        if isinstance(item, str):
            out.append((item, None))
        elif isinstance(item, Mapping):
            out.append((str(item.get("name", "")), item.get("label")))
    return out


def compile_attachments(raw: Mapping[str, Any] | None) -> AttachmentsSpec | None:
    """The spec of a checked `attachments:` (None when the entity declares none)."""
    if raw is None:
        return None
    entries = folder_entries(raw.get("folders")) or [(DEFAULT_FOLDER, None)]
    folders = tuple(
        AttachmentFolder(name, Label.of(label, name.replace("_", " ").capitalize()))
        for name, label in entries
    )
    declared = {str(t).lower() for t in raw.get("types") or DEFAULT_TYPES}
    types = frozenset(declared | {_SAME[t] for t in declared if t in _SAME})
    size = raw.get("max_size_mb", 10)
    megabytes = size if isinstance(size, int | float) and 0 < size <= MAX_ATTACHMENT_MB else 10
    return AttachmentsSpec(
        folders=folders,
        types=types,
        max_bytes=int(megabytes * 1024 * 1024),
        max_files=int(raw.get("max_files", 100)),
        versions=bool(raw.get("versions", True)),
    )

"""The attachments block: the documents of the page's record, grouped by folder.

Readers of the record see the list, each document's versions (date, uploader, size) and
download any of them; users who may update the record get an upload form (file, folder),
a "new version" form per document and a delete button behind a confirmation — all plain
forms in `<details>` disclosures, so nothing needs JavaScript. A POST names its operation
(`upload`, `version`, `delete`); a refused upload re-renders the page with the error next
to the form that sent it (413 for a file over the limit, 422 for a refused type or content)
and stores nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from babel.numbers import format_decimal
from flask import Response, abort, flash, g, redirect, render_template
from markupsafe import Markup

from portalis.engine.data import documents as engine_documents
from portalis.engine.data.documents import Document, Version
from portalis.engine.data.errors import Forbidden, NotFound, ValidationFailed
from portalis.engine.definition.attachment_section import AttachmentsBlock
from portalis.engine.definition.attachment_spec import AttachmentsSpec

from .. import documents
from ..display import Formatter
from ..form_errors import error_texts
from ..templating import gettext, label
from ..uploads import UploadRejected, UploadTooLarge
from ..urls import page_url, portal_url
from ..widgets import megabytes, message_text
from .base import BlockContext, BlockType

#: Operations a POST to the block may name.
OPERATIONS = ("upload", "version", "delete")


@dataclass(slots=True)
class VersionItem:
    """One version as the page shows it."""

    number: int
    name: str
    size: str
    at: Markup
    who: str
    url: str
    current: bool


@dataclass(slots=True)
class DocumentItem:
    """One document as the page shows it."""

    id: str
    name: str
    url: str
    size: str
    at: Markup
    who: str
    current: int
    versions: list[VersionItem] = field(default_factory=list)


@dataclass(slots=True)
class FolderGroup:
    """A folder and its documents."""

    name: str
    label: str
    documents: list[DocumentItem]


def human_size(size: int, locale: str) -> str:
    """`812 B`, `12.3 KB`, `2.1 MB` in the reader's number format."""
    if size < 1024:
        return f"{size} B"
    for unit, factor in (("KB", 1024), ("MB", 1024**2), ("GB", 1024**3)):
        if size < factor * 1024 or unit == "GB":
            return f"{format_decimal(round(size / factor, 1), locale=locale)} {unit}"
    return f"{size} B"  # pragma: no cover - the loop always returns


class AttachmentsBlockType(BlockType):
    """`- attachments: {entity: ticket}`."""

    name = "attachments"

    def render(self, ctx: BlockContext) -> Markup:
        """The folders with their documents, and the forms the actor may use."""
        cfg: AttachmentsBlock = ctx.block.config
        record = ctx.record
        entity = ctx.store.model.entities.get(cfg.entity)
        if record is None or entity is None or entity.attachments is None:
            return Markup("")
        spec = entity.attachments
        docs = engine_documents.documents(ctx.store, ctx.actor, entity.name, record.id)
        can_change = documents.may_change(ctx.portal, ctx.actor, entity.name, record.id)
        groups = self.groups(ctx, spec, docs, f"/_attachments/{entity.name}/{record.id}")
        errors = dict(ctx.errors or {})
        form = ctx.form or {}
        title = label(cfg.title, "") if cfg.title is not None else gettext("Attachments")
        return Markup(
            render_template(
                "blocks/attachments.html",
                block=ctx.block,
                title=title,
                groups=groups,
                count=len(docs),
                can_change=can_change,
                folders=[(f.name, label(f.label, f.name)) for f in spec.folders],
                chosen_folder=form.get("folder") or spec.default_folder,
                accept=",".join("." + t for t in sorted(spec.types)),
                types=", ".join(sorted(spec.types)),
                limit=megabytes(spec.max_bytes),
                action=page_url(ctx.page.name, record.id),
                errors=errors,
                full=len(docs) >= spec.max_files,
            )
        )

    def groups(
        self, ctx: BlockContext, spec: AttachmentsSpec, docs: Sequence[Document], base: str
    ) -> list[FolderGroup]:
        """The folders holding documents, in declaration order (one query for the names);
        `base` is the record's download path."""
        fmt = Formatter(ctx.portal, ctx.actor, ctx.locale)
        ids = sorted({v.created_by for d in docs for v in d.versions if v.created_by})
        names = ctx.store.titles(ctx.actor, "user", ids, names_only=True) if ids else {}

        def when(version: Version) -> Markup:
            iso = version.created_at.isoformat(timespec="seconds")
            text = fmt.datetime_text(version.created_at)
            return Markup('<time datetime="{}">{}</time>').format(iso, text)

        def who(version: Version) -> str:
            if version.created_by is None:
                return ""
            return names.get(version.created_by) or gettext("a former user")

        out = []
        for folder in spec.folders:
            items = []
            for doc in docs:
                if doc.folder != folder.name:
                    continue
                latest = doc.latest
                item = DocumentItem(
                    doc.id, doc.name, portal_url(f"{base}/{doc.id}"),
                    human_size(latest.size, ctx.locale), when(latest), who(latest), doc.current,
                )  # fmt: skip
                item.versions = [
                    VersionItem(
                        v.number,
                        v.name,
                        human_size(v.size, ctx.locale),
                        when(v),
                        who(v),
                        portal_url(f"{base}/{doc.id}/{v.number}"),
                        v.number == doc.current,
                    )  # fmt: skip
                    for v in doc.versions
                ]
                items.append(item)
            if items:
                out.append(FolderGroup(folder.name, label(folder.label, folder.name), items))
        return out

    def handle_post(self, ctx: BlockContext) -> Response | None:
        """Upload, new version or delete; then back to the record (303)."""
        cfg: AttachmentsBlock = ctx.block.config
        record = ctx.record
        form = ctx.form or {}
        files = ctx.files or {}
        operation = str(form.get("op", ""))
        if record is None or record.entity != cfg.entity or operation not in OPERATIONS:
            abort(404)
        document_id = str(form.get("document", ""))
        key = operation if operation == "upload" else f"{operation}:{document_id}"
        storage = files.get("file")
        portal, actor, rid = ctx.portal, ctx.actor, record.id
        try:
            if operation == "delete":
                doc = engine_documents.document(ctx.store, actor, cfg.entity, rid, document_id)
                documents.delete_document(portal, actor, cfg.entity, rid, document_id)
                flash(gettext("“%(name)s” was deleted.", name=doc.name), "success")
            elif storage is None or not storage.filename:
                ctx.errors = {key: [gettext("Choose a file to upload.")]}
                return None
            elif operation == "upload":
                folder = str(form.get("folder") or "") or None
                doc = documents.attach_upload(portal, actor, cfg.entity, rid, folder, storage)
                flash(gettext("“%(name)s” was attached.", name=doc.name), "success")
            else:
                doc = documents.version_upload(portal, actor, cfg.entity, rid, document_id, storage)
                flash(
                    gettext("Version %(number)s of “%(name)s” was uploaded.",
                            number=doc.current, name=doc.name),
                    "success",
                )  # fmt: skip
        except NotFound:
            abort(404)
        except Forbidden:
            abort(403)
        except UploadTooLarge:
            spec = ctx.store.model.entities[cfg.entity].attachments
            assert spec is not None
            limit = megabytes(spec.max_bytes)
            ctx.errors = {key: [gettext("The file is larger than %(mb)s MB.", mb=limit)]}
            g.block_status = 413
            return None
        except UploadRejected as exc:
            message = message_text(ctx.locale, exc.message)
            ctx.errors = {key: [message.format(**exc.params) if exc.params else message]}
            return None
        except ValidationFailed as exc:
            texts = error_texts(exc.errors, ctx.locale)
            ctx.errors = {key: [t for messages in texts.values() for t in messages]}
            return None
        anchor = f"#block-{ctx.block.index}"
        return cast(Response, redirect(page_url(ctx.page.name, rid) + anchor, 303))

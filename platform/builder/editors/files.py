"""The files editor: `…/d/<draft>/files/` lists the bundle's files, `files/<path:file>`
edits one as text — for implementers who prefer YAML to forms.

Every change is one POST saved through `builder.editing.run_edit`, so it is validated like
every other editor's save (the problems of the file are listed with their line numbers):

- save a file's text (`BundleEdit.set_file`; the browser's CRLF line ends become the file's
  own LF, so saving an unchanged text changes nothing);
- add a new file (a relative path with a text suffix the bundle carries, not yet present);
- delete a file (an explicit confirmation; the root `portal.yaml` cannot be deleted).

Without JavaScript the text is a plain `<textarea>` beside a gutter of line numbers whose
items are the `#L<line>` anchors `editor_links` produces (the gutter scrolls to the line and
marks it); `files_editor.js` replaces it with CodeMirror 6 (vendored, YAML mode) and puts the
cursor on the anchored line. `?raw=1` downloads a file as it is stored.
"""

from __future__ import annotations

import io
from pathlib import PurePosixPath

from flask import Blueprint, abort, render_template, request, send_file
from werkzeug.wrappers import Response

from portalis.engine import drafts
from portalis.engine.data.db import begin_write
from portalis.engine.definition.bundle import MAX_FILE_BYTES, ROOT_NAMES, TEXT_SUFFIXES
from portalis.engine.definition.yamledit import BundleEdit, EditError
from portalis.engine.problems import Problem
from portalis.runtime.context import state
from portalis.runtime.templating import gettext as _

from .. import audit
from ..editing import (
    BASE_FIELD,
    SHOWN_FIELD,
    DraftContext,
    Operation,
    edit_failed,
    editor_url,
    open_draft,
    review_of,
    run_edit,
    saved_message,
)
from ..rights import EDIT

#: Files whose text CodeMirror highlights as YAML.
YAML_SUFFIXES = frozenset({".yaml", ".yml"})


def register(bp: Blueprint) -> None:
    """Add the files editor's routes to the builder blueprint."""
    bp.add_url_rule("/p/<slug>/d/<int:draft>/files/", "files", files_view, methods=["GET", "POST"])
    bp.add_url_rule(
        "/p/<slug>/d/<int:draft>/files/<path:file>",
        "file",
        file_view,
        methods=["GET", "POST"],
    )


def is_text(file: str) -> bool:
    """True when the file is one the bundle keeps as text (editable here)."""
    return PurePosixPath(file).suffix.lower() in TEXT_SUFFIXES


def check_new_path(file: str, existing: set[str]) -> str:
    """The normalised relative path of a new file, or EditError saying what is wrong."""
    path = file.strip().replace("\\", "/")
    parts = PurePosixPath(path).parts
    if not path or path.startswith("/") or any(p in ("..", ".") for p in parts):
        raise EditError(_("Give a path inside the bundle, such as pages/help.yaml."))
    if any(p.startswith(".") for p in parts):
        raise EditError(_("File and folder names may not start with a dot."))
    if not is_text(path):
        raise EditError(_("The bundle keeps only text files: %(suffixes)s.", suffixes=_suffixes()))
    if path in existing:
        raise EditError(_("The draft already has %(file)s.", file=path))
    return path


def _suffixes() -> str:
    return ", ".join(sorted(TEXT_SUFFIXES))


def save_op(file: str, text: str, shown: str | None = None) -> Operation:
    """Replace the text of `file`, which must still exist — and, when `shown` (the text the
    user started from) is given, still have that text: a whole-file save on top of someone
    else's change to the same file would undo it, so it is refused instead."""

    def run(edit: BundleEdit) -> None:
        current = edit.result().files.get(file)
        if current is None:
            raise EditError(_("%(file)s was deleted meanwhile.", file=file))
        if shown is not None and current not in (shown, text):
            raise EditError(
                _(
                    "%(file)s was changed meanwhile; copy your change into the latest text.",
                    file=file,
                )
            )
        if len(text.encode("utf-8")) > MAX_FILE_BYTES:
            raise EditError(_("A file may hold at most %(n)s bytes.", n=MAX_FILE_BYTES))
        edit.set_file(file, text)

    return run


def add_op(file: str) -> Operation:
    """Create `file`, empty."""

    def run(edit: BundleEdit) -> None:
        check_new_path(file, set(edit.result().files))
        edit.set_file(file, "")

    return run


def delete_op(file: str) -> Operation:
    """Remove `file` from the bundle (never the root file)."""

    def run(edit: BundleEdit) -> None:
        if file in ROOT_NAMES:
            raise EditError(_("The root file %(file)s cannot be deleted.", file=file))
        if file not in edit.result().files:
            raise EditError(_("%(file)s was deleted meanwhile.", file=file))
        edit.delete_file(file)

    return run


def file_problems(ctx: DraftContext, file: str) -> list[Problem]:
    """The head revision's problems located in `file`, by line."""
    return [p for p in review_of(ctx).report.sorted() if p.file == file]


def normalise(text: str, original: str) -> str:
    """The posted text with the browser's CRLF line ends turned into the file's own."""
    text = text.replace("\r\n", "\n")
    return text.replace("\n", "\r\n") if "\r\n" in original else text


def files_view(slug: str, draft: int) -> Response | str:
    """Every file of the draft, with add (POST)."""
    ctx = open_draft(slug, draft)
    here = editor_url("builder.files", ctx)
    if request.method == "POST":
        ctx = open_draft(slug, draft, EDIT)
        raw = request.form.get("file", "")
        try:
            file = check_new_path(raw, set(ctx.bundle.files))
        except EditError as exc:
            return edit_failed(ctx, exc, here)
        done = editor_url("builder.file", ctx, file=file)
        return run_edit(ctx, [add_op(file)], editor="files", what=f"add {file}", done=done)
    report = review_of(ctx).report.sorted()
    rows = [
        (name, ctx.bundle.files[name].count("\n") + 1, sum(1 for p in report if p.file == name))
        for name in ctx.bundle.files
    ]
    return render_template(
        "builder/editors/files.html",
        ctx=ctx,
        rows=rows,
        root_names=ROOT_NAMES,
        is_text=is_text,
        suffixes=_suffixes(),
        message=saved_message(),
        title=_("Files"),
    )


def file_view(slug: str, draft: int, file: str) -> Response | str:
    """One file: the editor (GET), its download (`?raw=1`), save and delete (POST)."""
    ctx = open_draft(slug, draft)
    if file not in ctx.bundle.files:
        abort(404)
    if request.method == "POST":
        return _post(open_draft(slug, draft, EDIT), file)
    text = ctx.bundle.files[file]
    if request.args.get("raw") == "1":
        with begin_write(state().engine) as conn:
            audit.record_by(
                conn, "file_downloaded", ctx.account, portal=slug, draft=draft,
                revision=ctx.revision, file=file,
            )  # fmt: skip
        # as plain text and an attachment: an SVG or HTML file is never rendered here
        return send_file(
            io.BytesIO(text.encode("utf-8")),
            mimetype="text/plain",
            as_attachment=True,
            download_name=PurePosixPath(file).name,
        )
    lines = text.split("\n")
    return render_template(
        "builder/editors/file.html",
        ctx=ctx,
        file=file,
        text=text,
        line_count=len(lines) - 1 if text.endswith("\n") else len(lines),
        editable=is_text(file),
        yaml=PurePosixPath(file).suffix.lower() in YAML_SUFFIXES,
        deletable=file not in ROOT_NAMES,
        problems=file_problems(ctx, file),
        message=saved_message(),
        title=file,
    )


def _shown_text(ctx: DraftContext, file: str) -> str | None:
    """The file's text in the revision the user's form started from (None when unknown)."""
    raw = request.form.get(SHOWN_FIELD, "") or request.form.get(BASE_FIELD, "")
    if not raw.isdigit() or int(raw) == ctx.revision:
        return ctx.bundle.files.get(file)
    try:
        return drafts.revision_bundle(state().engine, ctx.draft_id, int(raw)).files.get(file)
    except drafts.DraftError:
        return None


def _post(ctx: DraftContext, file: str) -> Response | str:
    here = editor_url("builder.file", ctx, file=file)
    action = request.form.get("action", "")
    if action == "save":
        text = normalise(request.form.get("text", ""), ctx.bundle.files[file])
        op = save_op(file, text, _shown_text(ctx, file))
        return run_edit(ctx, [op], editor="files", what=f"edit {file}", done=here)
    if action == "delete":
        if request.form.get("confirm") != file:
            return edit_failed(ctx, EditError(_("Tick the box to confirm the deletion.")), here)
        done = editor_url("builder.files", ctx)
        return run_edit(ctx, [delete_op(file)], editor="files", what=f"delete {file}", done=done)
    return edit_failed(ctx, EditError(_("Unknown action.")), here)

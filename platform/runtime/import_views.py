"""The CSV import pages of a list block with `import:`.

    GET  /_import/<page>/<block>          the upload form
    POST /_import/<page>/<block>          upload a file → its mapping page (303)
    GET  /_import/<page>/<block>/<id>     mapping and dry-run result, progress, or the result
    POST /_import/<page>/<block>/<id>     `step=check`: save the mapping and run the dry run;
                                          `step=import`: import the checked file

A page, block or import the actor may not use is a 404: the page must be theirs to open,
they must read and create the list's entity, and an import is only its uploader's, in the
account active at the upload. The upload follows the file discipline of `uploads`: a size
limit (413 one byte over), the extension (`csv`, `txt`) and sniffed content must agree, the
text must be UTF-8 (a BOM is fine). A file of more rows than one batch is checked and
imported by the worker (`import_run`); its page shows the progress and a Refresh link.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import abort, g, request

from portalis.engine.data.csv_read import CsvTable, CsvUnreadable, decode, guess_mapping, parse
from portalis.engine.data.db import begin_write
from portalis.engine.data.errors import NON_FIELD
from portalis.engine.data.permissions import Actor
from portalis.engine.definition.block_configs import ListBlock
from portalis.engine.definition.model import Field

from . import import_state as state
from .auth.common import render, see_other
from .form_errors import error_texts
from .i18n import format_number
from .import_run import ImportConfig, background, import_fields, run, start_job, table_of
from .page_records import page_allowed
from .registry import RuntimePortal
from .templating import gettext, label
from .uploads import UploadRejected, clean_name, extension, sniff
from .urls import page_url, portal_url

#: Extensions an import file may have.
ACCEPT = frozenset({"csv", "txt"})
#: Rows shown as samples on the mapping page.
SAMPLES = 3


def _config(portal: RuntimePortal, actor: Actor, page: str, block: int) -> ImportConfig:
    """The import of `page`'s block `block` when the actor may use it, else 404."""
    target = portal.compiled.model.pages.get(page)
    if target is None or not page_allowed(target, actor) or not 0 <= block < len(target.blocks):
        abort(404)
    cfg = target.blocks[block].config
    if not isinstance(cfg, ListBlock) or cfg.csv_import is None or cfg.parent:
        abort(404)
    store = portal.store
    if not store.policy.grants_for(actor, cfg.entity, "read"):
        abort(404)
    config = ImportConfig(cfg)
    if not import_fields(store, actor, config):
        abort(404)
    return config


def _item(
    portal: RuntimePortal, actor: Actor, page: str, block: int, import_id: str
) -> state.ImportRow:
    """The actor's own import of this block (in their active account), else 404."""
    with portal.store.reading() as conn:
        item = state.load(conn, portal.slug, import_id)
    if (
        item is None
        or item.page != page
        or item.block != block
        or item.user_id != actor.id
        or item.account_id != actor.account
    ):
        abort(404)
    return item


def _title(portal: RuntimePortal, config: ImportConfig) -> str:
    if config.spec.title is not None:
        return label(config.spec.title)
    entity = portal.store.entity(config.entity)
    return gettext("Import %(items)s", items=label(entity.plural_label, entity.name))


def upload_view(portal: RuntimePortal, actor: Actor, page: str, block: int) -> Any:
    """The upload form, and the upload itself."""
    config = _config(portal, actor, page, block)
    fields = import_fields(portal.store, actor, config)
    context: dict[str, Any] = {
        "title": _title(portal, config),
        "fields": fields,
        "max_mb": config.spec.max_bytes // (1024 * 1024),
        "max_rows": format_number(config.spec.max_rows, _locale(portal)),
        "action": portal_url(f"/_import/{page}/{block}"),
        "back": page_url(page),
    }
    if request.method == "GET":
        return render("import/upload.html", **context)
    storage = request.files.get("file")
    if storage is None or not storage.filename:
        return render("import/upload.html", 422, error=gettext("Choose a CSV file."), **context)
    data = storage.stream.read(config.spec.max_bytes + 1)
    if len(data) > config.spec.max_bytes:
        message = gettext("The file is larger than %(mb)s MB.", mb=context["max_mb"])
        return render("import/upload.html", 413, error=message, **context)
    name = clean_name(storage.filename)
    try:
        if extension(name) not in ACCEPT:
            raise UploadRejected("file-type", "files of this type are not allowed")
        sniff(extension(name), data[:8192], Path(name))
        table = parse(decode(data), max_rows=config.spec.max_rows)
    except UploadRejected:
        message = gettext("This is not a CSV file: save it from your spreadsheet as CSV.")
        return render("import/upload.html", 422, error=message, **context)
    except CsvUnreadable as exc:
        return render("import/upload.html", 422, error=unreadable_text(exc), **context)
    mapping = guess_mapping(table.header, fields)
    locale = _locale(portal)
    with begin_write(portal.store.engine) as conn:
        import_id = state.create(
            conn, portal=portal.slug, page=page, block=block, entity=config.entity,
            user_id=int(actor.id or 0), account_id=actor.account, locale=locale, name=name,
            text=decode(data), total=len(table.rows), mapping=mapping,
        )  # fmt: skip
    return see_other(f"/_import/{page}/{block}/{import_id}")


def _locale(portal: RuntimePortal) -> str:
    return str(g.get("locale") or portal.compiled.model.default_locale)


def unreadable_text(exc: CsvUnreadable) -> str:
    """Why a file cannot be read, in the reader's language."""
    if exc.code == "encoding":
        return gettext("The file is not UTF-8 text: save it as “CSV UTF-8”.")
    if exc.code == "rows":
        return gettext("The file has more than %(max)s rows.", max=exc.params.get("max"))
    if exc.code == "empty":
        return gettext("The file has no header line or no rows below it.")
    if "line" in exc.params:
        return gettext("Line %(line)s has more cells than the header.", line=exc.params["line"])
    return gettext("The file is not valid CSV.")


def step_view(portal: RuntimePortal, actor: Actor, page: str, block: int, import_id: str) -> Any:
    """The mapping, dry run, progress and result of one import."""
    config = _config(portal, actor, page, block)
    item = _item(portal, actor, page, block, import_id)
    fields = import_fields(portal.store, actor, config)
    if request.method == "GET":
        return _show(portal, config, item, fields, page, block)
    step = request.form.get("step")
    here = f"/_import/{page}/{block}/{import_id}"
    if item.running or item.status == state.DONE or step not in ("check", "import"):
        return see_other(here)  # nothing to do now: the page says where it stands
    previous = item.status
    if step == "check":
        mapping, errors = posted_mapping(item, fields, config)
        item.mapping = mapping
        if errors:
            item.status = state.MAPPING
            _save(portal, item)
            return _show(portal, config, item, fields, page, block, errors, 422)
        item.status = state.CHECKING
    else:
        if item.status != state.CHECKED or item.refused:
            return see_other(here)
        item.status = state.IMPORTING
    _start(portal, actor, config, item, previous)
    return see_other(here)


def _start(
    portal: RuntimePortal,
    actor: Actor,
    config: ImportConfig,
    item: state.ImportRow,
    previous: str,
) -> None:
    """Run the dry run or import now (one batch), or queue it for the worker."""
    with begin_write(portal.store.engine) as conn:
        # only from the status the page was loaded in: a second click starts nothing twice
        if not state.save(conn, item, expect=previous):
            return
        if background(item, config):
            start_job(conn, item)
            return
    run(portal.store, actor, item, config, lambda current: _save(portal, current))


def _save(portal: RuntimePortal, item: state.ImportRow) -> None:
    with begin_write(portal.store.engine) as conn:
        state.save(conn, item)


def posted_mapping(
    item: state.ImportRow, fields: list[Field], config: ImportConfig
) -> tuple[dict[int, str], list[str]]:
    """The mapping of the form (`map-<column>` → field name or empty) and what is wrong
    with it: a field chosen twice, a required field without a column."""
    table = table_of(item, config)
    allowed = {f.name: f for f in fields}
    mapping: dict[int, str] = {}
    errors: list[str] = []
    for i in range(len(table.header)):
        name = request.form.get(f"map-{i}", "")
        if not name:
            continue
        if name not in allowed:
            abort(400)
        if name in mapping.values():
            errors.append(
                gettext(
                    "%(field)s is chosen for more than one column.", field=_label(allowed[name])
                )
            )
            continue
        mapping[i] = name
    for f in fields:
        if (
            f.required
            and f.default is None
            and f.default_expr is None
            and f.name not in mapping.values()
        ):
            errors.append(gettext("%(field)s is required: choose its column.", field=_label(f)))
    if not mapping and not errors:
        errors.append(gettext("Choose the field of at least one column."))
    return mapping, errors


def _label(f: Field) -> str:
    return label(f.label, f.name)


def _show(
    portal: RuntimePortal,
    config: ImportConfig,
    item: state.ImportRow,
    fields: list[Field],
    page: str,
    block: int,
    errors: list[str] | None = None,
    status: int = 200,
) -> Any:
    # a finished import keeps no file: its page needs only the counts and problems
    table = table_of(item, config) if item.text else CsvTable(",", (), ())
    by_field = {f.name: f for f in fields}
    columns = {name: table.header[i] for i, name in item.mapping.items() if i < len(table.header)}
    model = portal.compiled.model
    problems = []
    for p in item.problems:
        texts = error_texts({p.field or NON_FIELD: [p.message]}, item.locale, model)
        column = columns.get(p.field) or (_label(by_field[p.field]) if p.field in by_field else "")
        problems.append((p.line, column, next(iter(texts.values()))[0]))
    samples = [
        [row[i] if i < len(row) else "" for row in table.rows[:SAMPLES]]
        for i in range(len(table.header))
    ]
    return render(
        "import/step.html",
        status,
        title=_title(portal, config),
        item=item,
        header=table.header,
        samples=samples,
        fields=fields,
        errors=errors or [],
        problems=problems,
        background=background(item, config),
        action=portal_url(f"/_import/{page}/{block}/{item.id}"),
        back=page_url(page),
        percent=int(100 * item.processed / item.total) if item.total else 100,
    )


VIEWS: dict[str, Callable[..., Any]] = {"sys:import": upload_view, "sys:import_step": step_view}

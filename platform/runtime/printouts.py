"""Printouts on the web side: a record's PDF made on demand, kept per record version, served
under the record's read permission; also attached to notification mails.

`make_pdf` reads the record through the record store as the actor (NotFound when they may not
read it, or may not print this printout), renders the template with what they may read
(`printout_context`), and looks the HTML's digest up in `portalis_printout`: a second download
of the same version by a reader who sees the same fields renders no PDF. A new version renders
anew and drops the documents of older versions.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Response, abort, g
from jinja2 import Template

from portalis.engine.data.db import begin_write
from portalis.engine.data.errors import Forbidden, NotFound
from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Record
from portalis.engine.data.tables import utcnow
from portalis.engine.definition.printout_spec import PLACEHOLDER, Printout
from portalis.engine.expr.textmpl import TemplateProblem, compile_markup, render_text

from .printout_context import PrintContext, printable
from .printout_pdf import PrintoutFailed, html_to_pdf
from .runtime_tables import printout_cache
from .uploads import content_disposition
from .urls import portal_url

if TYPE_CHECKING:
    from portalis.engine.data.store import RecordStore

    from .registry import RuntimePortal

log = logging.getLogger("portalis.runtime.printouts")

#: Longest HTML a printout template may produce (characters).
MAX_HTML = 2_000_000


@dataclass(frozen=True, slots=True)
class Rendered:
    """A printout of one record: its file name, the PDF, and whether it came from the cache."""

    filename: str
    pdf: bytes
    cached: bool


def printouts_offered(store: RecordStore, actor: Actor, record: Record) -> list[Printout]:
    """The printouts of `record`'s entity the actor may print now (detail block links)."""
    entity = store.model.entities[record.entity]
    return [p for p in entity.printouts.values() if printable(p, actor, record)]


def printout_url(entity: str, record_id: int, name: str) -> str:
    """The download URL of a printout."""
    return portal_url(f"/_printouts/{entity}/{record_id}/{name}.pdf")


def _template(portal: RuntimePortal, printout: Printout) -> Template:
    # compiled once per version (the validator compiled it once already, to locate errors)
    key = ("printout-template", printout.template)
    template = portal.cache.get(key)
    if template is None:
        template = compile_markup(portal.compiled.bundle.files[printout.template])
        portal.cache[key] = template
    return template


def file_name(printout: Printout, row: dict[str, Any]) -> str:
    """The download's name: the pattern's `{field}`s filled with the record's texts."""
    name = PLACEHOLDER.sub(lambda m: str(row.get(m.group(1), "")), printout.filename)
    return name if name.lower().endswith(".pdf") else name + ".pdf"


def make_pdf(
    portal: RuntimePortal,
    actor: Actor,
    entity: str,
    record_id: int,
    name: str,
    locale: str,
    store: RecordStore | None = None,
) -> Rendered:
    """The PDF of printout `name` of a record for `actor` in `locale`; NotFound when the
    actor may not read the record or print it, PrintoutFailed when rendering fails."""
    store = store or portal.store
    spec = store.model.entities.get(entity)
    printout = spec.printouts.get(name) if spec is not None else None
    if printout is None:
        raise NotFound(f"no printout {name!r} of {entity}")
    record = store.get(actor, entity, record_id)
    if not printable(printout, actor, record):
        raise NotFound(f"printout {name!r} is not offered for this {entity}")
    builder = PrintContext(store, actor, locale)
    context = builder.context(printout, record)
    try:
        html = render_text(_template(portal, printout), context, limit=MAX_HTML)
    except TemplateProblem as exc:
        raise PrintoutFailed(f"template {printout.template}: {exc}") from exc
    digest = hashlib.sha256(f"{printout.page_css}\n{html}".encode()).hexdigest()
    filename = file_name(printout, context["record"])
    key = (portal.slug, entity, record.id, name)
    found = _cached(store.engine, key, digest)
    if found is not None:
        return Rendered(filename, found, True)
    pdf = html_to_pdf(html, portal.compiled.bundle.files, printout.page_css)
    _keep(store.engine, key, record.version, locale, digest, pdf)
    return Rendered(filename, pdf, False)


def _where(key: tuple[str, str, int, str]) -> sa.ColumnElement[bool]:
    t = printout_cache.c
    portal, entity, record_id, name = key
    return sa.and_(
        t.portal == portal, t.entity == entity, t.record_id == record_id, t.printout == name
    )


def _cached(engine: sa.Engine, key: tuple[str, str, int, str], digest: str) -> bytes | None:
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(printout_cache.c.pdf).where(_where(key), printout_cache.c.digest == digest)
        ).scalar()
    return bytes(found) if found is not None else None


def _keep(
    engine: sa.Engine,
    key: tuple[str, str, int, str],
    version: int,
    locale: str,
    digest: str,
    pdf: bytes,
) -> None:
    """Store the PDF and drop those of older versions of the record. Two readers rendering
    the same document at once store it once (the second insert finds the unique key)."""
    try:
        with begin_write(engine) as conn:
            conn.execute(
                printout_cache.delete().where(
                    _where(key), printout_cache.c.record_version < version
                )
            )
            conn.execute(
                printout_cache.insert().values(
                    portal=key[0], entity=key[1], record_id=key[2], printout=key[3],
                    record_version=version, locale=locale, digest=digest, pdf=pdf,
                    created_at=utcnow(),
                )
            )  # fmt: skip
    except sa.exc.IntegrityError:
        log.debug("printout %s of %s #%s was stored concurrently", key[3], key[1], key[2])


def pdf_response(rendered: Rendered) -> Response:
    """The PDF as a download: never sniffed, never cached by shared caches."""
    response = Response(rendered.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = content_disposition(rendered.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# -- page route ---------------------------------------------------------------------------
def download_view(portal: RuntimePortal, actor: Actor, entity: str, id: int, printout: str) -> Any:
    """GET /_printouts/<entity>/<id>/<printout>.pdf: the PDF, else 404."""
    try:
        rendered = make_pdf(portal, actor, entity, id, printout, str(g.get("locale") or "en"))
    except (NotFound, Forbidden):
        abort(404)
    except PrintoutFailed:
        log.exception("printout %s of %s #%s failed", printout, entity, id)
        abort(500)
    return pdf_response(rendered)


VIEWS = {"sys:printout": download_view}

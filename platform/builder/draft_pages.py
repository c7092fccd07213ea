"""A draft's pages: its overview (head revision, revisions, problems with links to their
editors, links to every editor), the diff between two revisions, restore, discard, export as
a zip; and starting a draft of a portal (from its live version or an uploaded zip).

Rights: view to see and export, edit to start, restore or discard a draft (404 otherwise).
Every change is audited (`builder_draft_*`), and so are exports.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

from portalis.engine import drafts
from portalis.engine.data.db import begin_write
from portalis.engine.data.errors import NotFound as NoLiveVersion
from portalis.engine.drafts import DraftError, DraftInfo
from portalis.engine.problems import DefinitionError, Problem
from portalis.runtime.context import state
from portalis.runtime.templating import gettext as _

from . import audit
from .diff_view import file_diffs
from .draft_access import author_names, page, require, require_draft, revision_problems
from .editor_links import available_editors, editor_url
from .preview import draft_preview
from .rights import EDIT, PUBLISH, VIEW
from .uploads import read_zip_upload, zip_response


def _routed(url: str) -> bool:
    """True when a builder route serves GET `url` (an editor that is installed); the portals'
    catch-all routes do not count."""
    adapter = current_app.url_map.bind("localhost")
    try:
        endpoint, _args = adapter.match(url.split("#", 1)[0], method="GET")
    except RequestRedirect:  # the same route without or with a trailing slash
        return True
    except HTTPException:
        return False
    return str(endpoint).startswith("builder.")


def _draft_url(draft: DraftInfo) -> str:
    return url_for("builder.draft", slug=draft.portal, draft=draft.id)


def _int_arg(name: str, default: int) -> int:
    raw = request.values.get(name, "")
    return int(raw) if raw.isdigit() else default


def draft_view(slug: str, draft: int) -> str:
    """`/_builder/p/<slug>/d/<draft>/`: the draft's overview."""
    account, info = require_draft(slug, draft, VIEW)
    history = drafts.revisions(state().engine, info.id)
    problems = revision_problems(info, info.head)
    names = author_names([r.author for r in history] + [info.created_by])
    rights = account.rights.of(slug)
    return render_template(
        "builder/draft.html",
        draft=info,
        revisions=list(reversed(history)),
        problems=[(p, editor_url(slug, info.id, p.path, p.file, p.line, p.code)) for p in problems],
        errors=sum(1 for p in problems if p.severity.value == "error"),
        editors=available_editors(slug, info.id, _routed),
        names=names,
        can_edit=EDIT in rights,
        can_publish=PUBLISH in rights,
        title=info.name,
    )


def diff_view(slug: str, draft: int) -> str:
    """`…/d/<draft>/diff?a=&b=`: per-file unified diff between two revisions."""
    _account, info = require_draft(slug, draft, VIEW)
    b = _int_arg("b", info.head)
    a = _int_arg("a", max(b - 1, 1))
    try:
        diffs = drafts.diff_revisions(state().engine, info.id, a, b)
    except DraftError:
        abort(404)
    return render_template(
        "builder/draft_diff.html",
        draft=info,
        a=a,
        b=b,
        numbers=list(range(info.head, 0, -1)),
        files=file_diffs(diffs),
        title=_("Changes from revision %(a)s to %(b)s", a=a, b=b),
    )


def restore_view(slug: str, draft: int) -> Response:
    """POST `…/d/<draft>/restore`: save an old revision's files as the new head."""
    account, info = require_draft(slug, draft, EDIT)
    number = _int_arg("revision", 0)
    engine = state().engine
    try:
        saved = drafts.restore(engine, info.id, number, author=account.id)
    except DraftError:
        abort(404)
    with begin_write(engine) as conn:
        audit.record_by(
            conn, "draft_restored", account, portal=slug, draft=info.id,
            revision=number, head=saved.number,
        )  # fmt: skip
    return redirect(_draft_url(info), 303)


def discard_view(slug: str, draft: int) -> Response | str:
    """`…/d/<draft>/discard`: confirmation (GET), then discard (POST with the confirmation)."""
    account, info = require_draft(slug, draft, EDIT)
    if request.method == "POST" and request.form.get("confirm") == "yes":
        engine = state().engine
        drafts.discard(engine, info.id)
        draft_preview.release_unused()
        with begin_write(engine) as conn:
            audit.record_by(conn, "draft_discarded", account, portal=slug, draft=info.id)
        target = (
            url_for("builder.portal", slug=slug) if info.base_version else url_for("builder.start")
        )
        return redirect(target, 303)
    missing = request.method == "POST"
    return page(
        "builder/draft_discard.html",
        400 if missing else 200,
        draft=info,
        missing=missing,
        title=_("Discard draft %(name)s", name=info.name),
    )


def export_view(slug: str, draft: int) -> Response:
    """`…/d/<draft>/export.zip`: a revision's files (default: the head) as a zip."""
    account, info = require_draft(slug, draft, VIEW)
    number = _int_arg("revision", info.head)
    engine = state().engine
    try:
        data = drafts.revision_zip(engine, info.id, number)
    except DraftError:
        abort(404)
    with begin_write(engine) as conn:
        audit.record_by(
            conn, "draft_exported", account, portal=slug, draft=info.id, revision=number
        )
    return zip_response(data, f"{slug}-draft{info.id}-r{number}.zip")


def new_draft_view(slug: str) -> Response:
    """POST `/_builder/p/<slug>/drafts`: a new draft of the live version."""
    account = require(slug, EDIT)
    name = (request.form.get("name") or "").strip()[:100] or _("Draft")
    try:
        info = drafts.draft_from_live(state().engine, slug, name=name, created_by=account.id)
    except NoLiveVersion:
        abort(404)
    with begin_write(state().engine) as conn:
        audit.record_by(conn, "draft_created", account, portal=slug, draft=info.id,
                        origin=info.origin)  # fmt: skip
    return redirect(_draft_url(info), 303)


def import_view(slug: str) -> Response | str:
    """POST `/_builder/p/<slug>/drafts/import`: a zip of files as a new draft of the portal."""
    account = require(slug, EDIT)
    name = (request.form.get("name") or "").strip()[:100] or _("Imported draft")
    problems: list[Problem] = []
    data, refused = read_zip_upload("archive")
    if refused is not None:
        problems.append(refused)
    else:
        try:
            info = drafts.draft_from_zip(
                state().engine, data, name=name, portal=slug, created_by=account.id
            )
        except DefinitionError as error:
            problems.extend(error.problems)
        except DraftError as error:
            problems.append(Problem(error.code, str(error), file="upload", hint=error.hint))
        else:
            with begin_write(state().engine) as conn:
                audit.record_by(conn, "draft_imported", account, portal=slug, draft=info.id)
            return redirect(_draft_url(info), 303)
    return page(
        "builder/draft_import.html", 400, slug=slug, problems=problems,
        title=_("The zip was not imported"),
    )  # fmt: skip


def register(bp: Blueprint) -> None:
    """The draft routes."""
    base = "/p/<slug>/d/<int:draft>"
    bp.add_url_rule("/p/<slug>/drafts", "new_draft", new_draft_view, methods=["POST"])
    bp.add_url_rule("/p/<slug>/drafts/import", "import_draft", import_view, methods=["POST"])
    bp.add_url_rule(f"{base}/", "draft", draft_view)
    bp.add_url_rule(f"{base}/diff", "draft_diff", diff_view)
    bp.add_url_rule(f"{base}/restore", "draft_restore", restore_view, methods=["POST"])
    bp.add_url_rule(f"{base}/discard", "draft_discard", discard_view, methods=["GET", "POST"])
    bp.add_url_rule(f"{base}/export.zip", "draft_export", export_view)

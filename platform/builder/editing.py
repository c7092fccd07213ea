"""The one save pipeline of the builder's editors.

Every editor page works on a draft (`/_builder/p/<slug>/d/<int:draft>/…`) and follows the same
steps, which live here so no editor re-implements them:

1. `open_draft(slug, draft_id, right)` — the draft, its head revision and bundle, for an
   account holding `right` on the portal (404 otherwise, and for a discarded draft);
2. the editor's form carries the revision it was rendered from (`base_field()`, the hidden
   field `base_revision`); on POST the editor turns the posted values into `Operation`s
   (functions that apply `BundleEdit` steps) and calls `save_edits`;
3. `save_edits` applies the operations to the *base* revision's bundle, saves with
   `drafts.save(..., base_revision)` (optimistic: `DraftConflict` when someone saved first),
   writes the audit entry `builder_edit` (draft, revision, editor, what) and answers a
   `Saved` with the new revision;
4. `respond_saved` redirects back to the editor (`?saved=<revision>`); the editor's GET shows
   `problems_under(ctx, prefix)`: the draft's problems (`drafts.review`, cached per revision)
   that concern the edited part, each with file:line;
5. a conflict answers `conflict_response`: the page `builder/conflict.html` with both
   changes side by side and a form that posts the same values again on the new head
   ("apply my change on top of the latest revision"), so no edit is lost.

Typed API for editors: `DraftContext`, `Operation`, `open_draft`, `save_edits`,
`run_edit` (save + conflict + edit-error handling in one call), `problems_under`,
`saved_message`, `editor_url`, `definition` (the head's merged data), `base_definition` (the data the form showed), `preview_edit` (problems and destructive plan steps of an
edit before it is saved).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import abort, g, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from portalis.engine import drafts
from portalis.engine.data.db import begin_write
from portalis.engine.definition.bundle import Bundle
from portalis.engine.definition.loader import load
from portalis.engine.definition.yamledit import BundleEdit, EditError
from portalis.engine.deploy.schema_ops import SchemaOp
from portalis.engine.deploy.versions import plan_model
from portalis.engine.problems import JsonPath, PortalisError, Problem
from portalis.runtime.context import state
from portalis.runtime.templating import gettext as _

from . import audit
from .accounts import Account
from .guards import draft_guards_allow
from .reviews import live_schemas, reviewed
from .rights import EDIT, VIEW
from .session import current_account

#: One edit step: applies `BundleEdit` operations (it may raise `EditError`).
Operation = Callable[[BundleEdit], object]
#: The hidden field holding the revision a form was rendered from.
BASE_FIELD = "base_revision"
#: After a conflict: the revision the user saw first (their values are compared with it).
SHOWN_FIELD = "shown_revision"


@dataclass(frozen=True, slots=True)
class DraftContext:
    """A draft opened by an editor: who edits, which draft, its head revision and files."""

    slug: str
    draft: drafts.DraftInfo
    account: Account
    revision: int
    bundle: Bundle
    can_edit: bool

    @property
    def draft_id(self) -> int:
        """The draft's id."""
        return self.draft.id


@dataclass(frozen=True, slots=True)
class Saved:
    """A successful save: the revision it stored (the head when nothing changed)."""

    revision: int
    changed: tuple[str, ...]


def open_draft(slug: str, draft_id: int, right: str = VIEW) -> DraftContext:
    """The draft `draft_id` of portal `slug` for the signed-in account holding `right`
    (404 for anyone else, an unknown or discarded draft; 403 when a guard refuses)."""
    account = current_account()
    if account is None or not account.rights.can(slug, right):
        abort(404)
    engine = state().engine
    try:
        draft = drafts.get_draft(engine, draft_id)
    except drafts.DraftError:
        abort(404)
    if draft.portal != slug or draft.discarded:
        abort(404)
    if not draft_guards_allow(slug, draft, f"p/{slug}/d/{draft_id}/"):
        abort(403)
    bundle = drafts.revision_bundle(engine, draft_id, draft.head)
    return DraftContext(slug, draft, account, draft.head, bundle, account.rights.can(slug, EDIT))


def definition(ctx: DraftContext) -> dict[str, Any]:
    """The merged definition of the draft's head revision as plain data (loaded once per
    request)."""
    return _merged(ctx.bundle)


def _merged(bundle: Bundle) -> dict[str, Any]:
    loaded: dict[str, dict[str, Any]] = g.setdefault("builder_definitions", {})
    if bundle.sha256 not in loaded:
        data = load(bundle)[0].data
        loaded[bundle.sha256] = data if isinstance(data, dict) else {}
    return loaded[bundle.sha256]


def base_definition(ctx: DraftContext) -> dict[str, Any]:
    """The merged definition of the revision the posted form was rendered from: what the
    user saw, so an editor turns into operations only the values the user changed (and a
    save after a conflict does not undo the other editor's change)."""
    shown = request.form.get(SHOWN_FIELD, "")
    base = int(shown) if shown.isdigit() else posted_base(ctx)
    if base == ctx.revision:
        return definition(ctx)
    try:
        return _merged(drafts.revision_bundle(state().engine, ctx.draft_id, base))
    except drafts.DraftError:
        return definition(ctx)


def posted_base(ctx: DraftContext) -> int:
    """The revision the posted form was rendered from (the head when the form has none)."""
    raw = request.form.get(BASE_FIELD, "")
    return int(raw) if raw.isdigit() else ctx.revision


def apply_operations(bundle: Bundle, operations: Sequence[Operation]) -> BundleEdit:
    """The operations applied, in order, to `bundle` (EditError when one does not apply)."""
    edit = BundleEdit(bundle)
    for operation in operations:
        operation(edit)
    return edit


def save_edits(
    ctx: DraftContext,
    base: int,
    operations: Sequence[Operation],
    *,
    editor: str,
    what: str,
) -> Saved:
    """Apply `operations` to revision `base` and save them as the draft's next revision.

    Raises `DraftConflict` when `base` is no longer the head (nothing is written) and
    `EditError` when an operation does not apply. Audited as `builder_edit`.
    """
    engine = state().engine
    bundle = (
        ctx.bundle if base == ctx.revision else drafts.revision_bundle(engine, ctx.draft_id, base)
    )
    result = apply_operations(bundle, operations).result()
    changes: dict[str, str | None] = {path: result.files[path] for path in result.changed}
    changes.update({path: None for path in bundle.files if path not in result.files})
    saved = drafts.save(
        engine, ctx.draft_id, base, changes, author=ctx.account.id, message=f"{editor}: {what}"
    )
    with begin_write(engine) as conn:
        audit.record_by(
            conn,
            "edit",
            ctx.account,
            portal=ctx.slug,
            draft=ctx.draft_id,
            revision=saved.number,
            editor=editor,
            what=what,
        )
    return Saved(saved.number, result.changed)


def review_of(ctx: DraftContext) -> drafts.DraftReview:
    """`drafts.review` of the draft's head, cached per (draft, revision) and process:
    revisions never change (see `reviews`)."""
    return reviewed(ctx.draft_id, ctx.revision)


def problems_under(ctx: DraftContext, prefix: JsonPath) -> list[Problem]:
    """The head revision's problems whose definition path starts with `prefix`."""
    report = review_of(ctx).report
    return [p for p in report.sorted() if tuple(p.path[: len(prefix)]) == tuple(prefix)]


@dataclass(frozen=True, slots=True)
class EditPreview:
    """What an edit would do before it is saved: the problems it leaves (errors stop the
    plan) and the plan's destructive steps against the live database (rows at risk)."""

    problems: tuple[Problem, ...]
    destructive: tuple[SchemaOp, ...]


def preview_edit(ctx: DraftContext, operations: Sequence[Operation]) -> EditPreview:
    """Check and plan the head revision with `operations` applied, writing nothing — what
    a removal shows before it asks for confirmation."""
    st = state()
    bundle = apply_operations(ctx.bundle, operations).result().bundle
    checked = st.checker.check_bundle(bundle, st.settings.env, seeds=False)
    if checked.model is None or not checked.report.ok:
        return EditPreview(tuple(checked.report.errors), ())
    _, plan = plan_model(st.engine, checked.model, bundle, schemas=live_schemas())
    return EditPreview(tuple(checked.report.errors), plan.destructive)


def editor_url(endpoint: str, ctx: DraftContext, **values: Any) -> str:
    """The URL of a builder editor endpoint of this draft."""
    return url_for(endpoint, slug=ctx.slug, draft=ctx.draft_id, **values)


def saved_message() -> str | None:
    """The success message after a redirect from a save (`?saved=<revision>`)."""
    saved = request.args.get("saved", "")
    return _("Saved as revision %(number)s.", number=saved) if saved.isdigit() else None


def run_edit(
    ctx: DraftContext,
    operations: Sequence[Operation],
    *,
    editor: str,
    what: str,
    done: str,
) -> Response | str:
    """Save a POSTed edit: a redirect to `done` (`?saved=`) on success, the conflict page
    (409) on a concurrent save, the editor's error page (422) when the edit does not apply.
    Needs the edit right (404 otherwise)."""
    if not ctx.can_edit:
        abort(404)
    try:
        saved = save_edits(ctx, posted_base(ctx), operations, editor=editor, what=what)
    except drafts.DraftConflict as conflict:
        return conflict_response(ctx, conflict, operations, what)
    except (EditError, drafts.DraftError) as exc:
        return edit_failed(ctx, exc, done)
    sep = "&" if "?" in done else "?"
    anchor = ""
    if "#" in done:
        done, anchor = done.split("#", 1)
        anchor = "#" + anchor
    return redirect(f"{done}{sep}saved={saved.revision}{anchor}", 303)


def edit_failed(ctx: DraftContext, exc: PortalisError, back: str) -> Response:
    """The page shown when an edit cannot be applied (422), with a link back."""
    return refused(ctx, str(exc), back, hint=getattr(exc, "hint", ""))


def refused(
    ctx: DraftContext, error: str, back: str, *, hint: str = "", status: int = 422
) -> Response:
    """The page that says why a change could not be made (`status`), with a link back."""
    body = render_template(
        "builder/edit_failed.html",
        ctx=ctx,
        error=error,
        hint=hint,
        back=back,
        title=_("The change could not be made"),
    )
    return Response(body, status, mimetype="text/html")


def conflict_response(
    ctx: DraftContext,
    conflict: drafts.DraftConflict,
    operations: Sequence[Operation],
    what: str,
) -> Response:
    """The conflict page (409): their changes since the base and this edit, side by side,
    and the form that re-applies this edit on the new head — or why it no longer applies."""
    engine = state().engine
    head_bundle = drafts.revision_bundle(engine, ctx.draft_id, conflict.head)
    reapply_error = None
    try:
        apply_operations(head_bundle, operations)
    except EditError as exc:
        reapply_error = str(exc)
    skip = (BASE_FIELD, SHOWN_FIELD, "csrf_token")
    kept = [(k, v) for k, v in request.form.items(multi=True) if k not in skip]
    shown = request.form.get(SHOWN_FIELD, "")
    body = render_template(
        "builder/conflict.html",
        ctx=ctx,
        conflict=conflict,
        what=what,
        kept=kept,
        shown=int(shown) if shown.isdigit() else conflict.base,
        action=request.path,
        back=request.path,
        reapply_error=reapply_error,
        diff_lines=diff_lines,
        title=_("Someone saved this draft first"),
    )
    return Response(body, 409, mimetype="text/html")


def diff_lines(diff: str) -> list[tuple[str, str]]:
    """(css class, line) of a unified diff, for display."""
    out = []
    for line in diff.splitlines():
        kind = "ctx"
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        out.append((kind, line))
    return out


def base_field(ctx: DraftContext) -> Markup:
    """The hidden input with the revision the form is rendered from."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        escape(BASE_FIELD), ctx.revision
    )

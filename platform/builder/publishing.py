"""Publishing and history: the plan of a draft against the live database, publish (with a
note and, for destructive steps, consent naming the data that will go), rollback to a stored
version, a version's files as a zip, and the diff between two versions.

The plan page carries the fingerprint of the plan it shows (`Plan.fingerprint`: the steps and
the rows each destructive step removes), so consent is bound to that plan: publishing plans
again, inside the deploy's transaction too, and refuses — showing the new plan, publishing
nothing — when the plan is not the one shown (another version was published meanwhile, or
rows changed what a destructive step removes). The plan page and the publish form's check
plan against the live schema this process keeps per live version (`reviews`); the deploy
plans against the database itself, and when its plan is not the one shown the kept schema is
dropped, so the plan shown next is reflected afresh.

Publish goes through `drafts.publish` and rollback through the engine's `rollback` — the
paths `portalis deploy` and `portalis rollback` take: one transaction, so a failure leaves the
live version serving. A draft whose base is no longer live gets a page offering to publish it
over the newer version or to start again from the live one. Rights: view to see the plan,
history and exports; publish to publish and roll back (404 otherwise). Each is audited.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from portalis.engine import drafts
from portalis.engine.data.db import begin_write
from portalis.engine.data.errors import NotFound as NoVersion
from portalis.engine.definition.bundle_zip import bundle_to_zip
from portalis.engine.deploy.migrations import DestructiveChangeRefused, PlanChanged
from portalis.engine.deploy.version_diff import diff
from portalis.engine.deploy.versions import get_bundle, list_versions, prepare, rollback
from portalis.engine.drafts import DraftError, DraftOutdated
from portalis.engine.portal import CompiledPortal
from portalis.engine.problems import DefinitionError, PortalisError
from portalis.runtime.context import state
from portalis.runtime.templating import gettext as _

from . import audit
from .diff_view import file_diffs, split_unified
from .draft_access import page, remember_problems, require, require_draft
from .editor_links import editor_url
from .plan_steps import PlanView, plan_view
from .preview import draft_preview
from .reviews import forget_schema, fresh_review
from .rights import PUBLISH, VIEW
from .uploads import zip_response


def _plan_changed() -> str:
    return _(
        "The plan changed since you saw it (another version was published, or the data "
        "changed): check it and consent again. Nothing was published."
    )


def _render_plan(slug: str, draft: int, *, error: str = "", status: int = 200) -> Response:
    account, info = require_draft(slug, draft, VIEW)
    review = fresh_review(info.id)
    problems = tuple(review.report.sorted())
    remember_problems(info.id, review.revision, problems)
    steps = None
    if review.plan is not None and review.compiled is not None:
        steps = plan_view(review.plan, _entities(slug, review.compiled), g.locale)
    return page(
        "builder/plan.html",
        status,
        draft=info,
        review=review,
        problems=[(p, editor_url(slug, info.id, p.path, p.file, p.line, p.code)) for p in problems],
        steps=steps,
        can_publish=account.rights.can(slug, PUBLISH),
        offer_seed=_offers_seed(review),
        error=error,
        note=request.form.get("note", ""),
        title=_("Plan of %(name)s", name=info.name),
    )


def _offers_seed(review: drafts.DraftReview) -> bool:
    """True when publishing may load the draft's seed data: the first version of a new
    portal (a fork of a blueprint has no users otherwise), never over live data."""
    return (
        review.live_version is None
        and review.compiled is not None
        and bool(review.compiled.model.seed)
    )


def _entities(slug: str, target: CompiledPortal) -> set[str]:
    """The entity names of the target model and of the version this server serves."""
    names = set(target.model.entities)
    served = state().registry.get(slug)
    if served is not None:
        names |= set(served.compiled.model.entities)
    return names


def plan_view_page(slug: str, draft: int) -> Response:
    """`…/d/<draft>/plan`: what publishing the head revision would do."""
    return _render_plan(slug, draft)


def publish_view(slug: str, draft: int) -> Response:
    """POST `…/d/<draft>/publish`: publish the planned head revision."""
    account, info = require_draft(slug, draft, PUBLISH)
    st = state()
    revision = request.form.get("revision", "")
    if revision != str(info.head):
        return _render_plan(slug, draft, error=_("The draft changed: check the plan again."),
                            status=409)  # fmt: skip
    review = fresh_review(info.id, info.head)
    if not review.ok or review.plan is None:
        return _render_plan(slug, draft, error=_("The draft has errors."), status=400)
    assert review.compiled is not None  # an ok review compiled
    shown = request.form.get("plan", "")
    if shown != review.plan.fingerprint():
        forget_schema(slug)
        return _render_plan(slug, draft, error=_plan_changed(), status=409)
    steps = plan_view(review.plan, _entities(slug, review.compiled), g.locale)
    missing = steps.tokens - set(request.form.getlist("consent"))
    if missing:
        return _render_plan(
            slug, draft, status=400,
            error=_("Tick every destructive step to consent to the data it removes."),
        )  # fmt: skip
    note = (request.form.get("note") or "").strip()[:500] or None
    replace = request.form.get("replace_newer") == "yes"
    seed = request.form.get("seed") == "yes" and _offers_seed(review)
    try:
        result = drafts.publish(
            st.engine, st.checker, info.id, info.head, note=note,
            allow_destructive=bool(steps.tokens), published_by=account.id,
            deployed_by=account.email, replace_newer=replace, seed=seed, env=st.settings.env,
            expected_plan=shown,
        )  # fmt: skip
    except DraftOutdated:
        return page(
            "builder/draft_outdated.html", 409, draft=info, review=review, note=note or "",
            title=_("A newer version is live"),
        )  # fmt: skip
    except (DestructiveChangeRefused, PlanChanged):
        # planned again inside the deploy's transaction: not the plan consent was given for
        forget_schema(slug)
        return _render_plan(slug, draft, error=_plan_changed(), status=409)
    except (DefinitionError, DraftError) as failure:
        with begin_write(st.engine) as conn:
            audit.record_by(conn, "publish_failed", account, portal=slug, draft=info.id,
                            revision=info.head, error=str(failure)[:500])  # fmt: skip
        return _render_plan(slug, draft, status=400, error=str(failure))
    with begin_write(st.engine) as conn:
        audit.record_by(
            conn, "published", account, portal=slug, draft=info.id, revision=info.head,
            version=result.version, note=note, destructive=sorted(steps.tokens), seeded=seed,
        )  # fmt: skip
    st.registry.refresh()
    draft_preview.release_unused()
    return redirect(url_for("builder.portal", slug=slug), 303)


def _version_bundle(slug: str, number: int) -> bytes:
    try:
        return bundle_to_zip(get_bundle(state().engine, slug, number))
    except NoVersion:
        abort(404)


def version_export_view(slug: str, number: int) -> Response:
    """`/_builder/p/<slug>/v/<number>/export.zip`: a version's files as a zip."""
    account = require(slug, VIEW)
    data = _version_bundle(slug, number)
    with begin_write(state().engine) as conn:
        audit.record_by(conn, "version_exported", account, portal=slug, version=number)
    return zip_response(data, f"{slug}-v{number}.zip")


def version_diff_view(slug: str) -> str:
    """`/_builder/p/<slug>/v/diff?a=&b=`: YAML diff and model changes, as `portalis diff`."""
    require(slug, VIEW)
    st = state()
    numbers = [v.number for v in reversed(list_versions(st.engine, slug))]
    if not numbers:
        abort(404)
    raw_b, raw_a = request.args.get("b", ""), request.args.get("a", "")
    b = int(raw_b) if raw_b.isdigit() else numbers[0]
    a = int(raw_a) if raw_a.isdigit() else max(b - 1, 1)
    if a not in numbers or b not in numbers:
        abort(404)
    result = diff(st.engine, st.checker, slug, a, b)
    return render_template(
        "builder/history.html", slug=slug, a=a, b=b, numbers=numbers,
        files=file_diffs(split_unified(result.files)), summary=result.summary,
        title=_("Changes from version %(a)s to %(b)s", a=a, b=b),
    )  # fmt: skip


def rollback_view(slug: str, number: int) -> Response:
    """`/_builder/p/<slug>/v/<number>/rollback`: the plan and a confirmation (GET), then
    make the version live again (POST, with the confirmation and any consent)."""
    account = require(slug, PUBLISH)
    st = state()
    try:
        bundle = get_bundle(st.engine, slug, number)
    except NoVersion:
        abort(404)
    error, status = "", 200
    try:
        compiled, plan = prepare(st.engine, st.checker, bundle, st.settings.env)
    except DefinitionError as failure:
        return _rollback_page(slug, number, None, str(failure), 400)
    steps = plan_view(plan, _entities(slug, compiled), g.locale)
    if request.method == "POST":
        consented = steps.tokens <= set(request.form.getlist("consent"))
        if request.form.get("confirm") != "yes" or not consented:
            error, status = _("Confirm the rollback and every destructive step."), 400
        else:
            try:
                rollback(st.engine, st.checker, slug, number, st.settings.env,
                         allow_destructive=bool(steps.tokens))  # fmt: skip
            except (DestructiveChangeRefused, PortalisError) as failure:
                error, status = str(failure), 409
            else:
                with begin_write(st.engine) as conn:
                    audit.record_by(conn, "rolled_back", account, portal=slug, version=number,
                                    destructive=sorted(steps.tokens))  # fmt: skip
                st.registry.refresh()
                return redirect(url_for("builder.portal", slug=slug), 303)
    return _rollback_page(slug, number, steps, error, status)


def _rollback_page(
    slug: str, number: int, steps: PlanView | None, error: str, status: int
) -> Response:
    return page(
        "builder/history_rollback.html", status, slug=slug, number=number, steps=steps, error=error,
        title=_("Roll back to version %(number)s", number=number),
    )  # fmt: skip


def register(bp: Blueprint) -> None:
    """The plan, publish and history routes."""
    base = "/p/<slug>/d/<int:draft>"
    bp.add_url_rule(f"{base}/plan", "plan", plan_view_page)
    bp.add_url_rule(f"{base}/publish", "publish", publish_view, methods=["POST"])
    bp.add_url_rule("/p/<slug>/v/<int:number>/export.zip", "version_export", version_export_view)
    bp.add_url_rule("/p/<slug>/v/diff", "version_diff", version_diff_view)
    bp.add_url_rule(
        "/p/<slug>/v/<int:number>/rollback", "rollback", rollback_view, methods=["GET", "POST"]
    )

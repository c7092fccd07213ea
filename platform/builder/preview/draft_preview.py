"""Draft preview: `/_builder/p/<slug>/d/<draft>/preview/…`.

`preview/` asks whom to preview as — a seed user, a role (in an account, or in none) or an
anonymous visitor — and keeps the choice in the builder session; `preview/<slug>/…` then
serves the draft's head revision, compiled by `drafts.review`, from its sandbox (`sandbox`)
through an inner runtime application (`mount`), with a banner "Preview of draft N revision
R as X" and the "why?" panel on every page. Writes inside a preview are allowed and land in
the sandbox only (it is a throw-away copy seeded from the draft's seed data). The builder
account needs the `view` right on the portal; every preview start is audited.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, abort, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from portalis.engine.accounts.users import list_users
from portalis.engine.data.db import begin_write
from portalis.engine.data.permissions import Actor
from portalis.engine.drafts import DraftError, get_draft
from portalis.runtime.context import state
from portalis.runtime.templating import gettext as _

from .. import audit
from ..guards import draft_guards_allow
from ..reviews import reviewed
from ..rights import VIEW
from ..session import current_account
from . import sandbox
from .mount import ACTOR_KEY, OVERLAY_KEY, Overlay, forward, inner_app

_APPS_KEY = "builder_previews"
_CHOICE_KEY = "builder_preview_as"


class Unpreviewable(Exception):
    """The revision has errors: `response` lists them (409)."""

    def __init__(self, response: Response) -> None:
        super().__init__("the revision has errors")
        self.response = response


def _draft_or_404(slug: str, draft: int) -> Any:
    account = current_account()
    if account is None or not account.rights.can(slug, VIEW):
        abort(404)
    try:
        info = get_draft(state().engine, draft)
    except DraftError:
        abort(404)
    if info.portal != slug or info.discarded:
        abort(404)
    if not draft_guards_allow(slug, info, f"p/{slug}/d/{draft}/preview"):
        abort(403)
    return info


def prefix_of(slug: str, draft: int) -> str:
    """The URL prefix the preview of a draft is mounted at."""
    return f"/_builder/p/{slug}/d/{draft}/preview"


def _preview_app(slug: str, draft: int, revision: int) -> tuple[Flask, sandbox.Sandbox]:
    """The inner application of (draft, revision), built (and its sandbox seeded) once."""
    st = state()
    apps: dict[tuple[int, int], tuple[Flask, sandbox.Sandbox]] = st.extra.setdefault(_APPS_KEY, {})
    key = (draft, revision)
    cached = apps.get(key)
    if cached is not None and sandbox.exists(st.engine, cached[1]):
        return cached
    if cached is not None:
        # dropped meanwhile (by another process's pruning): build it again
        apps.pop(key)[0].extensions["portalis"].engine.dispose()
    checked = reviewed(draft, revision)
    if not checked.ok:
        errors = [p.format() for p in checked.report.errors] or [_("It does not compile.")]
        page = render_template(
            "builder/preview_problems.html", slug=slug, draft=draft, revision=revision,
            problems=errors, title=_("Preview of draft %(n)s", n=draft),
        )  # fmt: skip
        raise Unpreviewable(Response(page, 409, mimetype="text/html"))
    box = sandbox.ensure(st.engine, st.checker, Path(st.settings.instance_path), draft, revision)
    for old in sandbox.prune(st.engine, Path(st.settings.instance_path), keep=key):
        gone = apps.pop(old, None)
        if gone is not None:
            gone[0].extensions["portalis"].engine.dispose()
    app = inner_app(st, box.engine(), prefix=prefix_of(slug, draft), share_registry=False)
    apps[key] = (app, box)
    return app, box


def release_unused() -> None:
    """Drop the sandboxes (and this process's preview apps) no draft needs any more: called
    after a publish or a discard, so a finished draft's scratch data does not linger until
    the next preview is built."""
    st = state()
    apps: dict[tuple[int, int], tuple[Flask, sandbox.Sandbox]] = st.extra.setdefault(_APPS_KEY, {})
    for old in sandbox.prune(st.engine, Path(st.settings.instance_path)):
        gone = apps.pop(old, None)
        if gone is not None:
            gone[0].extensions["portalis"].engine.dispose()


def _people(app: Flask, slug: str) -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]]]:
    """The sandbox's users, the draft's roles and the sandbox's accounts."""
    inner = app.extensions["portalis"]
    portal = inner.registry.get(slug)
    if portal is None:
        abort(404)
    with inner.engine.connect() as conn:
        people = [
            {"id": u.id, "email": u.email, "name": u.name, "roles": list(u.roles)}
            for u in list_users(conn, portal.compiled)
            if u.is_active
        ]
        # the builder lists every account, whoever may read them in the portal
        firms = portal.store.list(
            Actor.system(), "account", sort="name", page_size=100, count=False, conn=conn
        )
    found = [{"id": r.id, "name": str(r.values.get("name") or r.id)} for r in firms.records]
    people.sort(key=lambda u: str(u["email"]))
    return people, sorted(portal.compiled.model.roles), found


def start_view(slug: str, draft: int) -> Any:
    """`preview/`: whom to preview as (GET), then start (POST)."""
    info = _draft_or_404(slug, draft)
    try:
        app, _box = _preview_app(slug, draft, info.head)
    except Unpreviewable as exc:
        return exc.response
    users, roles, accounts = _people(app, slug)
    if request.method == "POST":
        choice = _parse_choice(request.form, users, roles, accounts)
        if choice is None:
            abort(400)
        session[_CHOICE_KEY] = {"draft": draft, "actor": list(choice)}
        account = current_account()
        assert account is not None
        with begin_write(state().engine) as conn:
            audit.record_by(
                conn,
                "preview_started",
                account,
                portal=slug,
                draft=draft,
                revision=info.head,
                actor=list(choice),
            )
        return redirect(f"{prefix_of(slug, draft)}/{slug}/", 303)
    return render_template(
        "builder/preview_as.html", slug=slug, draft=info, users=users, roles=roles,
        accounts=accounts, title=_("Preview of draft %(n)s", n=draft),
    )  # fmt: skip


def _parse_choice(
    form: Any, users: list[dict[str, Any]], roles: list[str], accounts: list[dict[str, Any]]
) -> tuple[Any, ...] | None:
    who = str(form.get("as", ""))
    if who == "anonymous":
        return ("anonymous",)
    if who.startswith("user:") and who[5:].isdigit():
        uid = int(who[5:])
        return ("user", uid) if any(u["id"] == uid for u in users) else None
    if who == "role":
        role = str(form.get("role", ""))
        raw = str(form.get("account", ""))
        account = int(raw) if raw.isdigit() else None
        if role not in roles or (raw and not any(a["id"] == account for a in accounts)):
            return None
        return ("role", role, account)
    return None


def _label(choice: list[Any], users: list[dict[str, Any]], accounts: list[dict[str, Any]]) -> str:
    if choice[0] == "user":
        found = next((u for u in users if u["id"] == choice[1]), None)
        return str(found["name"] or found["email"]) if found else "?"
    if choice[0] == "role":
        firm = next((a["name"] for a in accounts if a["id"] == choice[2]), None)
        if firm:
            return _("role %(role)s in account %(account)s", role=choice[1], account=firm)
        return _("role %(role)s", role=choice[1])
    return _("an anonymous visitor")


def page_view(slug: str, draft: int, rest: str) -> Response:
    """`preview/<slug>/…` (and the runtime's static files): the preview itself."""
    info = _draft_or_404(slug, draft)
    if not (rest == slug or rest.startswith(slug + "/") or rest.startswith("_static/")):
        abort(404)
    try:
        app, _box = _preview_app(slug, draft, info.head)
    except Unpreviewable as exc:
        return exc.response
    chosen = session.get(_CHOICE_KEY)
    if not isinstance(chosen, dict) or chosen.get("draft") != draft:
        return redirect(url_for("builder.preview_start", slug=slug, draft=draft), 303)
    users, _roles, accounts = _people(app, slug)
    choice = chosen["actor"]
    text = _(
        "Preview of draft %(n)s revision %(r)s as %(who)s",
        n=draft,
        r=info.head,
        who=_label(choice, users, accounts),
    )
    overlay = Overlay("preview", text, url_for("builder.preview_start", slug=slug, draft=draft))
    extra = {ACTOR_KEY: tuple(choice), OVERLAY_KEY: overlay}
    return forward(app, prefix_of(slug, draft), rest, extra)

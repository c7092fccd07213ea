"""`/_builder/new`: a new portal as a draft — a fork of a blueprint (a copy of its files under a
new slug), a blank portal, or the files of an uploaded zip.

Creating a portal needs the `edit` right on every portal (an account made with
`portalis builder-users create EMAIL --all`): a new slug is a portal no per-portal grant
names yet. Publishing it needs `publish` on every portal likewise. The new draft opens on its
overview; the portal appears on the start page once published. Blueprints are the folders
holding a portal.yaml under each directory of `PORTALIS_BLUEPRINTS` (paths separated like
PATH), by default the `blueprints/` folder of the installation's source tree.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Blueprint, abort, redirect, request, url_for
from werkzeug.wrappers import Response

from portalis.engine import drafts
from portalis.engine.data.db import begin_write
from portalis.engine.definition.bundle import ROOT_NAMES
from portalis.engine.deploy.versions import live_versions
from portalis.engine.drafts import DraftError, DraftInfo
from portalis.engine.problems import DefinitionError, Problem
from portalis.runtime.context import state
from portalis.runtime.templating import gettext as _

from . import audit
from .accounts import Account
from .draft_access import page
from .rights import ALL_PORTALS, EDIT
from .session import current_account
from .uploads import read_zip_upload

#: The source tree's blueprints (platform/ → repository root).
DEFAULT_BLUEPRINTS = Path(__file__).resolve().parents[2] / "blueprints"


def may_create(account: Account | None) -> bool:
    """True when `account` may create portals (edit on every portal)."""
    return account is not None and EDIT in account.rights.grants.get(ALL_PORTALS, frozenset())


def blueprints() -> dict[str, Path]:
    """Blueprint name → folder, from `PORTALIS_BLUEPRINTS` (else the source tree's)."""
    configured = state().settings.env.get("PORTALIS_BLUEPRINTS", "")
    roots = [Path(p) for p in configured.split(os.pathsep) if p] or [DEFAULT_BLUEPRINTS]
    found: dict[str, Path] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            if any((folder / name).is_file() for name in ROOT_NAMES):
                found.setdefault(folder.name, folder)
    return found


def _create(source: str, slug: str, name: str, account: Account) -> DraftInfo:
    engine = state().engine
    if slug in live_versions(engine):
        raise DraftError(
            _("A portal %(slug)s exists already.", slug=slug),
            hint=_("Choose another slug, or open that portal and start a draft there."),
        )
    if source == "blueprint":
        folder = blueprints().get(request.form.get("blueprint", ""))
        if folder is None:
            raise DraftError(_("Choose a blueprint."))
        return drafts.draft_from_directory(
            engine, folder, name=name, portal=slug, created_by=account.id
        )
    if source == "blank":
        title = (request.form.get("title") or "").strip()[:200] or None
        return drafts.draft_blank(engine, slug, name=name, title=title, created_by=account.id)
    data, refused = read_zip_upload("archive")
    if refused is not None:
        raise DefinitionError([refused])
    return drafts.draft_from_zip(engine, data, name=name, portal=slug, created_by=account.id)


def new_portal_view() -> Response | str:
    """`/_builder/new`: the three ways to start a portal (GET), starting one (POST)."""
    account = current_account()
    if not may_create(account):
        abort(404)
    assert account is not None
    problems: list[Problem] = []
    if request.method == "POST":
        source = request.form.get("source", "")
        slug = (request.form.get("slug") or "").strip().lower()
        name = (request.form.get("name") or "").strip()[:100] or _("First draft")
        if source not in ("blueprint", "blank", "zip"):
            abort(400)
        try:
            info = _create(source, slug, name, account)
        except DefinitionError as error:
            problems.extend(error.problems)
        except DraftError as error:
            problems.append(Problem(error.code, str(error), hint=error.hint))
        else:
            with begin_write(state().engine) as conn:
                audit.record_by(conn, "portal_created", account, portal=info.portal,
                                draft=info.id, origin=info.origin)  # fmt: skip
            return redirect(url_for("builder.draft", slug=info.portal, draft=info.id), 303)
    return page(
        "builder/new_portal.html", 400 if problems else 200, blueprints=sorted(blueprints()),
        problems=problems, form=request.form, title=_("New portal"),
    )  # fmt: skip


def register(bp: Blueprint) -> None:
    """`/_builder/new`."""
    bp.add_url_rule("/new", "new_portal", new_portal_view, methods=["GET", "POST"])

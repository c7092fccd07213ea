"""Who may open a portal's or a draft's builder pages, and the cached problems of a revision.

`require(slug, right)` answers 404 when the signed-in account lacks `right` on the portal
(view to see, edit to change drafts, publish to publish or roll back) and applies the portal's
request guards like the portal page does (403); a portal that was never published has no
served version to ask them with, so its pages that name no draft (a zip imported as a draft)
follow the platform-level pages' rule, the account's rights. `require_draft` also answers 404
for a draft of another portal, a discarded draft or an unknown one, and asks the guards about
the draft (`guards.draft_guards_allow`: for a portal never published, with the draft's own
head revision).

The problems of a revision are cached per (draft, revision) and process: a revision never
changes, and the checker is the application's, so viewing a draft does not validate it again.
The plan page reviews again (`reviews.fresh_review`: rows counted now, the live schema kept
per live version).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

import sqlalchemy as sa
from flask import Response as HtmlResponse
from flask import abort, render_template
from werkzeug.wrappers import Response

from portalis.engine import drafts
from portalis.engine.data.db import begin_write
from portalis.engine.deploy.versions import live_versions
from portalis.engine.drafts import DraftError, DraftInfo
from portalis.engine.problems import Problem
from portalis.runtime.context import state

from . import audit
from .accounts import Account
from .guards import draft_guards_allow, guards_allow
from .reviews import reviewed
from .session import current_account
from .tables import accounts

_CACHE_KEY = "builder_draft_problems"


def require(slug: str, right: str, rest: str = "") -> Account:
    """The signed-in account, when it holds `right` on portal `slug` (404 otherwise; 403 when
    a request guard of the portal refuses this client)."""
    account = _with_right(slug, right)
    st = state()
    served = st.registry.get(slug)
    if (served is not None or slug in live_versions(st.engine)) and not guards_allow(served, rest):
        _refused(account, slug)
    return account


def require_draft(slug: str, draft_id: int, right: str) -> tuple[Account, DraftInfo]:
    """`require`, and the open draft `draft_id` of portal `slug` (404 otherwise)."""
    account = _with_right(slug, right)
    try:
        draft = drafts.get_draft(state().engine, draft_id)
    except DraftError:
        abort(404)
    if draft.portal != slug or draft.discarded:
        abort(404)
    if not draft_guards_allow(slug, draft, f"p/{slug}/d/{draft_id}/"):
        _refused(account, slug)
    return account, draft


def _with_right(slug: str, right: str) -> Account:
    account = current_account()
    assert account is not None  # the blueprint signs everyone else in first
    if not account.rights.can(slug, right):
        abort(404)
    return account


def _refused(account: Account, slug: str) -> NoReturn:
    with begin_write(state().engine) as conn:
        audit.record_by(conn, "refused_by_guard", account, portal=slug)
    abort(403)


def revision_problems(draft: DraftInfo, revision: int) -> tuple[Problem, ...]:
    """The problems of a revision (errors and warnings, sorted), as `drafts.review` finds them
    with the application's checker — once per (draft, revision) and process."""
    cache: dict[tuple[int, int], tuple[Problem, ...]] = state().extra.setdefault(_CACHE_KEY, {})
    key = (draft.id, revision)
    if key not in cache:
        cache[key] = tuple(reviewed(draft.id, revision).report.sorted())
    return cache[key]


def remember_problems(draft_id: int, revision: int, problems: tuple[Problem, ...]) -> None:
    """Store the problems a fresh review found (e.g. on the plan page) for later pages."""
    state().extra.setdefault(_CACHE_KEY, {})[(draft_id, revision)] = problems


def author_names(ids: Iterable[int | None]) -> dict[int, str]:
    """Builder account id → e-mail address, for the authors named on draft pages (one query)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    with state().engine.connect() as conn:
        rows = conn.execute(
            sa.select(accounts.c.id, accounts.c.email).where(accounts.c.id.in_(wanted))
        ).all()
    return {int(r.id): str(r.email) for r in rows}


def page(template: str, status: int = 200, **context: Any) -> Response:
    """A rendered builder page with `status` (an HTML response, like a view's string)."""
    return HtmlResponse(render_template(template, **context), status=status)

"""The builder's reviews of draft revisions, shared by its pages in one process.

`reviewed(draft, revision)` is `drafts.review` of a revision, kept per (draft, revision) — a
revision never changes — for the last `KEPT` revisions reviewed: the draft's overview, its
editors, the request guards of a portal that was never published (`guards`) and the
preview's sandbox ask for the same revision without checking it again. `fresh_review` plans
again (the plan page and publishing, whose plan is bound to what is live now).

Every review plans against the live schema kept per (portal, live version) in this process
(`LiveSchemas`): reviews of a portal reflect its tables once until a version is published or
rolled back (here or by another process: the live version is read with each review); rows
are counted every time. Publishing itself never uses it: the deploy plans against the
database inside its transaction, and a plan that changed there drops the portal's schema
(`forget_schema`) so the next review reflects it again.
"""

from __future__ import annotations

from portalis.engine import drafts
from portalis.engine.deploy.live_schema import LiveSchemas
from portalis.runtime.context import state

#: How many reviewed revisions a process keeps.
KEPT = 32
_REVIEWS = "builder_reviews"
_SCHEMAS = "builder_live_schemas"


def live_schemas() -> LiveSchemas:
    """This application's cache of reflected live schemas (made on first use)."""
    found: LiveSchemas = state().extra.setdefault(_SCHEMAS, LiveSchemas())
    return found


def fresh_review(draft_id: int, revision: int | None = None) -> drafts.DraftReview:
    """`drafts.review` of a revision (default: the head), checked and planned now."""
    st = state()
    return drafts.review(
        st.engine, st.checker, draft_id, revision, st.settings.env, schemas=live_schemas()
    )


def reviewed(draft_id: int, revision: int) -> drafts.DraftReview:
    """The review of (draft, revision), made once per process (while among the last kept)."""
    cache: dict[tuple[int, int], drafts.DraftReview] = state().extra.setdefault(_REVIEWS, {})
    key = (draft_id, revision)
    if key not in cache:
        if len(cache) >= KEPT:  # oldest first: dicts keep insertion order
            del cache[next(iter(cache))]
        cache[key] = fresh_review(draft_id, revision)
    return cache[key]


def forget_schema(slug: str) -> None:
    """Reflect the portal's live schema again at the next review (its plan changed under a
    publish: the schema moved without a new live version, e.g. by hand)."""
    live_schemas().forget(slug)

"""The `feedback` block: "Was this helpful?" with Yes and No under the page's record.

A plain form (no JavaScript needed) posts to the page; the vote goes through the record
store, so a record the reader may not read is a 404 like everywhere else. One vote per
voter and record, changed by voting again: a signed-in user votes as themselves, a visitor
by a random token kept in their session (never by address). The buttons say which answer is
the reader's (`aria-pressed`); readers who may update the record also see the tally.
"""

from __future__ import annotations

import secrets
from typing import cast

from flask import Response, abort, flash, redirect, render_template, session
from markupsafe import Markup

from portalis.engine.data import feedback
from portalis.engine.data.errors import NotFound
from portalis.engine.data.permissions import Actor
from portalis.engine.definition.feedback_section import FeedbackBlock
from portalis.engine.flow.rights import record_rights

from ..templating import gettext, label
from ..urls import page_url
from .base import BlockContext, BlockType

#: The session key of a visitor's voter token.
VISITOR_KEY = "feedback_visitor"
#: The answers a POST may carry.
ANSWERS = {"yes": True, "no": False}


def voter_key(actor: Actor, *, create: bool) -> str | None:
    """The voter: the signed-in user, or the visitor's session token (made when `create`)."""
    if actor.is_authenticated and actor.id is not None:
        return f"user:{actor.id}"
    token = session.get(VISITOR_KEY)
    if not isinstance(token, str) and create:
        token = secrets.token_urlsafe(18)
        session[VISITOR_KEY] = token
    return f"visitor:{token}" if isinstance(token, str) else None


class FeedbackBlockType(BlockType):
    """Renders `feedback` blocks and takes their votes."""

    name = "feedback"

    def render(self, ctx: BlockContext) -> Markup:
        """The question, the two buttons (the reader's answer pressed) and, for the record's
        editors, the tally."""
        cfg: FeedbackBlock = ctx.block.config
        record = ctx.record
        if record is None or record.entity != cfg.entity:
            return Markup("")
        slug = ctx.store.model.slug
        voter = voter_key(ctx.actor, create=False)
        with ctx.store.reading() as conn:
            mine = (
                None
                if voter is None
                else feedback.vote_of(conn, slug, cfg.entity, record.id, voter)
            )
            rights = record_rights(
                ctx.store, ctx.actor, cfg.entity, record.id, actions=("update",), conn=conn
            )
            tally = None
            if "update" in rights.actions:
                tally = feedback.tallies(conn, slug, cfg.entity, [record.id]).get(
                    record.id, feedback.Tally()
                )
        question = label(cfg.question) if cfg.question is not None else gettext("Was this helpful?")
        return Markup(
            render_template(
                "blocks/feedback.html",
                block=ctx.block,
                action=page_url(ctx.page.name, record.id),
                question=question,
                mine=mine,
                tally=tally,
            )
        )

    def handle_post(self, ctx: BlockContext) -> Response | None:
        """Take the vote, thank the reader and go back to the block (303)."""
        cfg: FeedbackBlock = ctx.block.config
        record = ctx.record
        answer = str((ctx.form or {}).get("helpful", ""))
        if record is None or record.entity != cfg.entity:
            abort(404)
        if answer not in ANSWERS:
            abort(400)
        voter = voter_key(ctx.actor, create=True)
        assert voter is not None
        try:
            feedback.vote(ctx.store, ctx.actor, cfg.entity, record.id, voter, ANSWERS[answer])
        except NotFound:
            abort(404)
        flash(gettext("Thank you for your feedback."), "success")
        anchor = f"#block-{ctx.block.index}"
        return cast(Response, redirect(page_url(ctx.page.name, record.id) + anchor, 303))

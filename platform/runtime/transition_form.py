"""Workflow transitions from HTML forms: what the form sent, what to tell the user.

Shared by the detail block (which posts to its own page, so a refused form comes back with
the comment and the errors in place) and the `/_act/<entity>/<id>/transition` view. The form
is this version's WTForms class for the transition (`forms.record.PortalForms`): the record
version it was shown for, the transition's required fields (their types' inputs) and its
comment. Reasons
and approval progress are translated here from the engine's codes; a stale version answers
409 with a page that shows the comment and values the user typed, so nothing is lost
silently: they copy it, reload, and act again on the current version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Response, abort, render_template

from portalis.engine.data.errors import FieldMessage
from portalis.engine.data.permissions import Actor
from portalis.engine.definition.flow_model import Transition
from portalis.engine.definition.model import Entity
from portalis.engine.flow.workflow import COMMENT_KEY, Availability, Outcome, Progress

from .display import Formatter
from .form_errors import error_texts
from .forms.base import formdata
from .forms.inputs import InputContext, RecordInput
from .forms.record import VERSION_FIELD, TransitionForm, portal_forms
from .registry import RuntimePortal
from .templating import gettext, label, ngettext
from .widgets import message_text

#: The form field naming the transition (it picks the form class, so it is read first).
NAME_FIELD = "name"


@dataclass(slots=True)
class Submission:
    """A transition form as submitted: the values are raw (the store cleans them); `typed`
    keeps the text of each field as typed, to show it again."""

    name: str
    version: int
    comment: str
    values: dict[str, Any] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


def transition_name(form: Mapping[str, Any]) -> str:
    """The transition a form names."""
    return str(form.get(NAME_FIELD) or "")


def transition_form(
    portal: RuntimePortal, entity: Entity, tr: Transition, locale: str
) -> TransitionForm:
    """An instance of this version's form class of `tr` (not processed yet)."""
    return portal_forms(portal).transition_form(entity, tr)(locale)


def read_submission(
    portal: RuntimePortal,
    actor: Actor,
    entity: Entity,
    tr: Transition,
    form: Mapping[str, Any],
    locale: str,
) -> Submission:
    """The submitted transition form (400 without a numeric version)."""
    bound = transition_form(portal, entity, tr, locale)
    bound.process(formdata=formdata(form))
    bound.validate()
    version = bound[VERSION_FIELD]
    if version.errors or not isinstance(version.data, int):
        abort(400)
    comment = str(bound[COMMENT_KEY].data or "") if COMMENT_KEY in bound else ""
    sub = Submission(tr.name, version.data, comment)
    reading = InputContext(Formatter(portal, actor, locale))
    for name in tr.require:
        if name not in entity.fields or name not in bound:
            continue
        field_ = bound[name]
        sub.typed[name] = str(form.get(name) or "")
        if field_.errors:
            sub.errors[name] = list(field_.errors)
            continue
        try:
            value = field_.store_value(reading) if isinstance(field_, RecordInput) else field_.data
        except ValueError as exc:
            sub.errors[name] = [message_text(locale, FieldMessage("invalid", str(exc), {}))]
            continue
        sub.values[name] = value
    return sub


def reason_text(item: Availability, entity: Entity) -> str:
    """Why a transition is not available, in the reader's language."""
    params = item.params
    code = item.code
    if code == "when":
        return gettext("when-condition false: %(condition)s", condition=params.get("condition"))
    if code == "when-error":
        return gettext("its condition could not be evaluated")
    if code == "assignee":
        name = str(params.get("field"))
        fld = entity.fields.get(name)
        shown = label(fld.label, name) if fld is not None else name
        return gettext("only the assignee (%(field)s) may take this transition", field=shown)
    if code == "self-approval":
        return gettext("the creator of the record may not approve it")
    if code == "already-approved":
        return gettext(
            "you have already approved (%(given)s of %(needed)s)",
            given=params.get("given"),
            needed=params.get("needed"),
        )
    if code == "role":
        return gettext("needs role %(roles)s", roles=params.get("roles"))
    if code == "state":
        return gettext("not available in the record's current state")
    if code == "no-grant":
        return gettext("you may not take transitions on this record")
    return item.reason


def progress_text(progress: Progress) -> str:
    """`1 of 2 approvals`."""
    return ngettext(
        "%(given)s of %(num)s approval",
        "%(given)s of %(num)s approvals",
        progress.needed,
        given=progress.given,
    )


def done_message(outcome: Outcome) -> str:
    """The flash message after a transition (or an approval short of its quorum)."""
    action = label(outcome.transition.label, outcome.transition.name)
    if outcome.applied or outcome.progress is None:
        return gettext("%(action)s: done.", action=action)
    return gettext(
        "%(action)s: your approval was recorded (%(progress)s).",
        action=action,
        progress=progress_text(outcome.progress),
    )


def transition_conflict(
    reload_url: str, entity: Entity, tr: Transition, submission: Submission | None
) -> Response:
    """409: the record changed since the page was loaded. The page says the action was not
    applied and shows what the user typed (comment, required fields) so they can use it
    again after reloading."""
    typed = []
    if submission is not None:
        for name, text in submission.typed.items():
            fld = entity.fields.get(name)
            if text.strip() and fld is not None:
                typed.append((label(fld.label, name), text))
    html = render_template(
        "blocks/transition_conflict.html",
        title=gettext("Changed by someone else"),
        reload_url=reload_url,
        action=label(tr.label, tr.name),
        comment=submission.comment.strip() if submission is not None else "",
        typed=typed,
    )
    return Response(html, status=409, mimetype="text/html")


def translated(errors: Mapping[str, list[FieldMessage]], locale: str) -> dict[str, list[str]]:
    """Engine field errors as texts in `locale`, per field (a failed rule in the words of
    the definition's `message`)."""
    return error_texts(errors, locale)


def error_lines(entity: Entity, errors: Mapping[str, list[str]]) -> list[str]:
    """Field errors as `Label: message` lines (for flashes)."""
    lines: list[str] = []
    for name, messages in errors.items():
        if name == COMMENT_KEY and name not in entity.fields:
            shown = gettext("Comment")
        elif name in entity.fields:
            shown = label(entity.fields[name].label, name)
        else:
            shown = gettext("Error")
        lines.extend(f"{shown}: {message}" for message in messages)
    return lines

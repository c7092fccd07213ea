"""Why a form was refused, as texts shown next to the form in the reader's language.

Shared by the form block and the transition forms of the detail block: a failed rule
(`check`) speaks with its own localized message from the definition, other engine messages
go through the catalogs, and a write the actor's grants do not cover (`OutOfScope`) becomes
an error on the field that put it out of reach, or on the whole form when that is not one
shown input. The texts name only the actor's own input, never the records beyond the grants.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from flask import g

from portalis.engine.data.errors import NON_FIELD, FieldMessage, OutOfScope, ParentStateRefused
from portalis.engine.definition.model import Grant, PortalModel

from .templating import gettext, label
from .widgets import message_text


def rule_text(model: PortalModel | None, locale: str, message: FieldMessage) -> str | None:
    """The definition's own message of a failed rule (of the entity named in its
    parameters: a parent's rule when a rollup refused the write); None for other messages."""
    if model is None or message.code != "rule":
        return None
    entity = model.entities.get(str(message.params.get("entity")))
    index = message.params.get("rule")
    rules = entity.rules if entity is not None else ()
    for rule in rules:
        if rule.index == index:
            return rule.message.get(locale, model.default_locale)
    return None


def error_texts(
    errors: Mapping[str, list[FieldMessage]], locale: str, model: PortalModel | None = None
) -> dict[str, list[str]]:
    """Engine errors as translated texts per field (rules in their own words)."""
    if model is None and g.get("portal") is not None:
        model = g.portal.compiled.model
    return {
        name: [rule_text(model, locale, m) or message_text(locale, m) for m in msgs]
        for name, msgs in errors.items()
    }


def out_of_scope_errors(
    exc: OutOfScope, inputs: Collection[str], *, creating: bool
) -> dict[str, list[str]]:
    """The refusal of a write outside the actor's grants: on the one shown input that
    decided it, else on the form; a parent's state (`when`) that refused it speaks with the
    definition's message, on the form."""
    if isinstance(exc, ParentStateRefused):
        return {NON_FIELD: [state_refusal_text(exc.grant)]}
    named = [name for name in exc.fields if name in inputs]
    if len(named) == 1:
        if creating:
            text = gettext("You cannot create a record with this value.")
        else:
            text = gettext("You cannot save the record with this value.")
        return {named[0]: [text]}
    if creating:
        return {NON_FIELD: [gettext("You cannot create a record with these values.")]}
    return {NON_FIELD: [gettext("You cannot save the record with these values.")]}


def state_refusal_text(grant: Grant) -> str:
    """Why a parent's state refuses writes under `grant`: its scope's message in the reader's
    language (a generic text without one)."""
    scope = grant.scope
    if scope.message is not None:
        return label(scope.message)
    model = g.portal.compiled.model if g.get("portal") is not None else None
    target = model.entities.get(scope.target or "") if model is not None else None
    parent = label(target.label, target.name) if target is not None else scope.target or ""
    return gettext(
        "This cannot change while the %(parent)s is in its current state.", parent=parent
    )

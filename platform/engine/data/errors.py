"""Errors of the record store; the runtime maps each to an HTTP status.

NotFound → 404, Forbidden → 403 (OutOfScope: a form shows it next to the fields;
ParentStateRefused: on the form), StaleRecord → 409, ValidationFailed → 422 (form errors),
BadQuery → 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from ..problems import PortalisError

if TYPE_CHECKING:
    from ..definition.model import Grant

#: Key of errors that belong to the whole record rather than one field.
NON_FIELD = "__all__"


class NotFound(PortalisError):
    """The record does not exist *for this actor* (it may exist for others)."""

    code = "not-found"


class Forbidden(PortalisError):
    """The actor may see the record (or entity) but not do this; `reason` says why."""

    code = "forbidden"

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class OutOfScope(Forbidden):
    """The written record would lie outside every grant of the actor for the action.

    `fields` are the submitted fields the scopes of those grants decide on (the account
    chosen, a `where` field, a parent reference): the values that put the record out of
    reach. They name the actor's own input only, never what lies beyond the grants.
    """

    def __init__(self, message: str, reason: str = "", fields: tuple[str, ...] = ()) -> None:
        super().__init__(message, reason)
        self.fields = fields


class ParentStateRefused(OutOfScope):
    """A parent scope's `when` refused the write: the parent is not in a state that lets its
    children change ("the order is delivered"). `grant` names the grant (its scope holds the
    definition's `message`); the message of the exception is that text in the default
    locale, or a generic one."""

    def __init__(self, message: str, reason: str, grant: Grant) -> None:
        super().__init__(message, reason)
        self.grant = grant


class StaleRecord(PortalisError):
    """The record changed since the actor loaded it (optimistic locking)."""

    code = "stale"

    def __init__(self, message: str, current_version: int | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version


class BadQuery(PortalisError):
    """A list query names an unknown or unusable field (sort, filter)."""

    code = "bad-query"


@dataclass(frozen=True, slots=True)
class FieldMessage:
    """One validation message: a stable code, an English template and its parameters."""

    code: str
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """The English message with parameters filled in."""
        try:
            return self.message.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return self.message


class ValidationFailed(PortalisError):
    """Input was refused; `errors` maps field names (or NON_FIELD) to messages."""

    code = "invalid"

    def __init__(self, errors: Mapping[str, list[FieldMessage]]) -> None:
        # The summary (logs, the CLI) keeps every detail; `errors` is what people are shown.
        summary = "; ".join(
            f"{name}: {', '.join(m.text() for m in msgs)}" for name, msgs in errors.items()
        )
        self.errors = {k: [public_message(m) for m in v] for k, v in errors.items()}
        super().__init__(summary or "invalid input")


class RuleConflict(ValidationFailed):
    """A rule of another record refuses the write in that record's current state (a slot
    whose places are all booked): the input is valid, the state is not, and the same input
    may succeed later or elsewhere. The API answers 409 with the rule's messages."""

    code = "conflict"


#: Expression-failure templates ("...: {error}") and what people are shown instead.
_WITHOUT_DETAIL: Final[Mapping[str, str]] = {
    m.message + ": {error}": m.message
    for m in (
        FieldMessage("expression-failed", "could not be computed"),
        FieldMessage("expression-failed", "the default could not be computed"),
        FieldMessage("expression-failed", "a rule of {entity} could not be checked"),
        FieldMessage("expression-failed", "{entity} #{id}, {field} could not be computed"),
    )
}


def public_message(message: FieldMessage) -> FieldMessage:
    """`message` without the text of the Python exception behind an expression failure.

    "could not be checked: TypeError: '>=' not supported ..." tells a customer nothing and
    the definition's maintainer finds it in the log (`Expression.evaluate` writes a line).
    """
    if message.code != "expression-failed" or "error" not in message.params:
        return message
    params = {k: v for k, v in message.params.items() if k != "error"}
    template = _WITHOUT_DETAIL.get(message.message) or message.message.replace(": {error}", "")
    return FieldMessage(message.code, template, params)

"""What every Portalis WTForms form shares: no per-form CSRF field, WTForms' own messages in
the reader's language, and field errors set by the views.

CSRF is checked once per request by Flask-WTF's `CSRFProtect` before any view reads a form
(`portalis.runtime.security`), for forms built with WTForms and for the few action buttons
that carry nothing else; the token field is drawn by `csrf_input()` in the templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import g, has_request_context
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.fields.core import Field
from wtforms.form import BaseForm
from wtforms.meta import DefaultMeta


def wtforms_locale(locale: str | None) -> str:
    """A portal locale (`de`, `pt-BR`) as WTForms names its catalogs (`de`, `pt_BR`)."""
    return (locale or "en").replace("-", "_")


class PortalMeta(DefaultMeta):
    """Meta of every form: CSRF off (checked centrally), WTForms' own messages in the
    reader's locale (`locale`, else the request's)."""

    csrf = False
    cache_translations = True

    def __init__(self, locale: str | None = None) -> None:
        current = g.get("locale") if has_request_context() else None
        self.locales = [wtforms_locale(locale or current)]


class PortalForm(Form):
    """Base of the declarative forms (sign-in, profile, administration …).

    Build one with the submitted data (`LoginForm(request.form)`) or with the values to show
    (`ProfileForm(data={...})`); the fields filter what was typed (trimmed, bounded), the
    views check it and attach messages with `add_error`.
    """

    Meta = PortalMeta


def formdata(values: Mapping[str, Any]) -> MultiDict[str, Any]:
    """Submitted values as WTForms reads them (a multi-dict: repeated names keep all)."""
    return values if isinstance(values, MultiDict) else MultiDict(values)


def add_error(field: Field, message: str) -> None:
    """Show `message` next to `field` (after the messages it already has)."""
    field.errors = [*field.errors, message]


def show_errors(form: BaseForm, errors: Mapping[str, list[str]]) -> None:
    """Attach messages found by a view (field name → messages) to the form's fields; a
    message for a field the form does not have is dropped."""
    for name, messages in errors.items():
        if name in form:
            form[name].errors = [*form[name].errors, *messages]


def field_errors(form: Any) -> dict[str, list[str]]:
    """The messages of every field that has some, by field name."""
    return {f.name: list(f.errors) for f in form if f.errors}


def stripped(value: Any) -> Any:
    """Filter: text without surrounding blanks (passwords never get this filter)."""
    return value.strip() if isinstance(value, str) else value


def bounded(limit: int) -> Any:
    """Filter: text cut to `limit` characters (longer input cannot be valid anyway)."""

    def cut(value: Any) -> Any:
        return value[:limit] if isinstance(value, str) else value

    return cut

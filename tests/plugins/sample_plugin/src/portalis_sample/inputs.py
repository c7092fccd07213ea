"""The rating's input in HTML forms: a `<select>` of the levels, labelled in the reader's
language (registered through `portalis_form_fields`).

The choices are a callable, so WTForms asks for them when a form is bound (in a request, in
the reader's locale), while the field itself is built once per published version. The
submitted text goes to `RatingType.clean` unchanged: the record store validates, so a form
and the API refuse the same values with the same message.
"""

from __future__ import annotations

from typing import Any

from wtforms import SelectField
from wtforms.fields.core import UnboundField

from portalis.api import Field
from portalis.web import gettext, label

from .rating import config_of


def _as_text(value: Any) -> str | None:
    """A stored rating (int) or submitted text as the `<option>` value it selects."""
    return None if value is None else str(value)


def rating_input(field: Field) -> UnboundField[Any]:
    """A select with "not rated" and one option per level."""
    config = config_of(field)

    def choices() -> list[tuple[str, str]]:
        levels = [
            (str(level), f"{level} – {label(config.labels[level - 1])}")
            if level <= len(config.labels)
            else (str(level), str(level))
            for level in range(1, config.max + 1)
        ]
        return [("", gettext("Not rated")), *levels]

    return UnboundField(SelectField, choices=choices, coerce=_as_text, validate_choice=False)

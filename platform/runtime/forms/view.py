"""A bound record input as the field template draws it (`widgets/field.html`).

`FormRenderer.view` labels a bound WTForms field in the reader's language, lets a built-in
input prepare what depends on the reader (options, help, the stored file), and renders its
control with the field's state: `required`, `aria-invalid` and `aria-describedby` pointing
at the help text and the error message. A plugin's own WTForms field is drawn by its own
widget with the same state and the same wrapper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from wtforms.fields.core import Field, Label
from wtforms.widgets import CheckboxInput, FileInput, Select, TextArea

from portalis.engine.definition.model import Field as FieldSpec

from ..display import Formatter
from .inputs import InputContext, RecordInput


@dataclass(slots=True)
class FieldView:
    """What the template needs around one control."""

    field_name: str
    id: str
    label: str
    kind: str
    own_label: bool
    required: bool
    help: str
    errors: list[str] = field(default_factory=list)
    control: Markup = field(default_factory=Markup)

    @property
    def described_by(self) -> str:
        """ids of the help and error texts (for aria-describedby)."""
        ids = []
        if self.help:
            ids.append(f"{self.id}-help")
        if self.errors:
            ids.append(f"{self.id}-error")
        return " ".join(ids)


class FormRenderer:
    """Draws the bound inputs of one form for one reader."""

    def __init__(self, formatter: Formatter, id_prefix: str) -> None:
        self.formatter = formatter
        self.id_prefix = id_prefix

    def context(self, stored: Any = None, currency: str = "") -> InputContext:
        """The per-request context of one input."""
        return InputContext(self.formatter, stored, currency)

    def view(
        self,
        bound: Field,
        spec: FieldSpec,
        *,
        stored: Any = None,
        errors: list[str] | None = None,
        required: bool | None = None,
        id: str | None = None,
        disabled: bool = False,
        autofocus: bool = False,
        currency: str = "",
    ) -> FieldView:
        """`bound` labelled, prepared and rendered (`required` defaults to the field's;
        `autofocus` after a form's row was added without JavaScript; `currency` the record's
        where a money field takes it from context)."""
        fmt = self.formatter
        bound.id = id or f"{self.id_prefix}-{bound.name}"
        text = fmt.label(spec.label, spec.name)
        bound.label = Label(bound.id, text)
        wanted = spec.required if required is None else required
        own_help = fmt.label(spec.help) if spec.help is not None else ""
        if isinstance(bound, RecordInput):
            bound.prepare(self.context(stored, currency))
            view = FieldView(
                spec.name, bound.id, text, bound.kind, bound.own_label,
                bound.shown_required(wanted), own_help or bound.help,
            )  # fmt: skip
        else:
            view = FieldView(
                spec.name, bound.id, text, widget_kind(bound), False, wanted,
                own_help or str(bound.description or ""),
            )  # fmt: skip
        view.errors = list(errors or ())
        state: dict[str, Any] = {
            "required": view.required,
            "aria_invalid": "true" if view.errors else None,
            "aria_describedby": view.described_by or None,
        }
        if disabled:
            state["disabled"] = "disabled"
        if autofocus:
            state["autofocus"] = "autofocus"
        if isinstance(bound, RecordInput):
            view.control = bound.widget(bound, **state)
        else:  # a plugin's WTForms field: its own widget, WTForms' attribute rules
            view.control = bound(**{k: v for k, v in state.items() if v is not None})
        return view


def widget_kind(bound: Field) -> str:
    """The wrapper's kind (`field-<kind>`) of a plugin's WTForms field, from its widget."""
    widget = bound.widget
    if isinstance(widget, TextArea):
        return "textarea"
    if isinstance(widget, Select):
        return "select"
    if isinstance(widget, CheckboxInput):
        return "checkbox"
    if isinstance(widget, FileInput):
        return "file"
    return "input"

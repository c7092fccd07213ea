"""The HTML of the built-in record inputs: WTForms widgets (`widget(field, **attrs)`).

Each widget draws the control of one field — what sits between its label and its help text:
an `<input>`, a `<textarea>`, a `<select>` with its blank choice, a checkbox with the hidden
fallback that makes "unchecked" arrive, a fieldset of checkboxes, an amount with its currency,
a reference with its suggestions, a file with the one already stored. The wrapper around it
(label, required mark, help, error linked through `aria-describedby`) is the template
`widgets/field.html`. Attributes come out in a fixed order — `type`, `id`, `name`, `value`
first, then the field's state (`required`, `aria-*`), then its static attributes — so the
markup reads like hand-written HTML and stays stable between releases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from markupsafe import Markup

from ..templating import gettext

if TYPE_CHECKING:
    from .inputs import RecordInput

#: Attributes written first, in this order, when present.
_LEADING = ("type", "id", "name", "value", "list", "rows")


def attributes(values: Mapping[str, Any]) -> Markup:
    """HTML attributes (with a leading space each): `True` gives a bare attribute, `False`
    and `None` none; `_` in a name becomes `-` (`aria_invalid`)."""
    ordered = [k for k in _LEADING if k in values]
    ordered += [k for k in values if k not in _LEADING]
    parts = []
    for key in ordered:
        value = values[key]
        name = key.rstrip("_").replace("_", "-")
        if value is True:
            parts.append(Markup(" {}").format(name))
        elif value is not None and value is not False:
            parts.append(Markup(' {}="{}"').format(name, value))
    return Markup("").join(parts)


def _state(field: Any, state: Mapping[str, Any]) -> dict[str, Any]:
    """The field's state, its static attributes (`render_kw`), its per-request ones, and
    `disabled` last."""
    values = {k: v for k, v in state.items() if k != "disabled"}
    values.update(field.render_kw or {})
    values.update(field.attrs)
    if "disabled" in state:
        values["disabled"] = state["disabled"]
    return values


def required_mark(required: bool) -> Markup:
    """The `*` after a required field's label (and its words for screen readers)."""
    if not required:
        return Markup("")
    return Markup(
        ' <span class="required" aria-hidden="true">*</span><span class="sr-only"> ({})</span>'
    ).format(gettext("required"))


def _options(
    options: Iterable[tuple[str, str]], selected: Iterable[str], indent: str = "    "
) -> Markup:
    chosen = set(selected)
    return Markup("").join(
        Markup('\n{}<option value="{}"{}>{}</option>').format(
            indent, value, Markup(" selected") if value in chosen else "", text
        )
        for value, text in options
    )


class Control(Protocol):
    """A widget of a record input: its HTML for the field's state (`required`, `aria_*`,
    `disabled`). The controls of the specialised inputs (checkbox, money, file) read that
    input's own attributes."""

    def __call__(self, field: Any, **state: Any) -> Markup:
        """The control's HTML."""
        ...


class InputControl:
    """`<input type=…>` of a text, number, date, e-mail, phone or URL field."""

    def __call__(self, field: RecordInput, **state: Any) -> Markup:
        values = {"type": field.input_type, "id": field.id, "name": field.name}
        values["value"] = field._value()
        return Markup("<input{}>").format(attributes({**values, **_state(field, state)}))


class TextareaControl:
    """`<textarea>` of a text or JSON field (`rows` by the field's kind, unless its static
    attributes say)."""

    def __call__(self, field: RecordInput, **state: Any) -> Markup:
        rows = {"json": 8, "markdown": 12}.get(field.input_type, 5)
        values = {"id": field.id, "name": field.name, "rows": rows, **_state(field, state)}
        return Markup("<textarea{}>{}</textarea>").format(attributes(values), field._value())


class SelectControl:
    """`<select>` of a choice (or a reference with few targets): a blank choice unless a
    required field already has a value."""

    def __call__(self, field: RecordInput, **state: Any) -> Markup:
        value = field._value()
        required = bool(state.get("required"))
        blank = Markup("")
        if not required or not value:
            text = gettext("Choose…") if required else "—"
            blank = Markup('\n    <option value="">{}</option>').format(text)
        values = {"id": field.id, "name": field.name, **_state(field, state)}
        return Markup("<select{}>{}{}\n  </select>").format(
            attributes(values), blank, _options(field.options, [value])
        )


class CheckboxControl:
    """A yes/no checkbox inside its label; the hidden `false` before it makes an unchecked
    box arrive (browsers send nothing for it)."""

    def __call__(self, field: Any, **state: Any) -> Markup:
        values = {"type": "checkbox", "id": field.id, "name": field.name, "value": "true"}
        values["checked"] = field.checked
        box = Markup("<input{}>").format(attributes({**values, **_state(field, state)}))
        hidden = Markup('<input type="hidden" name="{}" value="false">').format(field.name)
        label = field.label.text
        return Markup('{}\n  <label class="checkbox" for="{}">{} {}</label>').format(
            hidden, field.id, box, label
        )


class CheckboxesControl:
    """A fieldset of checkboxes (tags restricted to their choices) with its legend; the
    hidden empty value makes "none chosen" arrive."""

    def __call__(self, field: Any, **state: Any) -> Markup:
        described = state.get("aria_describedby")
        fieldset = attributes({"class": "choices", "aria_describedby": described})
        boxes = Markup("").join(
            Markup(
                '\n    <label class="checkbox"><input type="checkbox" name="{}" value="{}"{}>'
                " {}</label>"
            ).format(field.name, value, Markup(" checked") if value in field.values else "", text)
            for value, text in field.options
        )
        return Markup(
            '<fieldset{}>\n    <legend>{}{}</legend>\n    <input type="hidden" name="{}" value="">'
            "{}\n  </fieldset>"
        ).format(
            fieldset,
            field.label.text,
            required_mark(bool(state.get("required"))),
            field.name,
            boxes,
        )


class MoneyControl:
    """An amount and its currency (`<name>__currency`)."""

    def __call__(self, field: Any, **state: Any) -> Markup:
        values = {"type": "number", "id": field.id, "name": field.name}
        values["value"] = field._value()
        amount = Markup("<input{}>").format(attributes({**values, **_state(field, state)}))
        if not field.currencies:  # the record's currency: shown, not chosen
            if not field.currency:  # not known yet (the help text says so): a plain box
                return amount
            shown = Markup('\n    <span class="money-currency">{}</span>').format(field.currency)
            return Markup('<div class="money-input">\n    {}{}\n  </div>').format(amount, shown)
        codes = _options(((c, c) for c in field.currencies), [field.currency], " " * 6)
        return Markup(
            '<div class="money-input">\n    {}\n    <select name="{}" aria-label="{}">{}'
            "\n    </select>\n  </div>"
        ).format(amount, field.currency_name, gettext("Currency"), codes)


class DatalistControl:
    """A reference typed as text with suggestions (too many targets for a `<select>`), and
    the title of the record it points to now."""

    def __call__(self, field: RecordInput, **state: Any) -> Markup:
        listed = f"{field.id}-options"
        values = {"type": "text", "id": field.id, "name": field.name}
        values.update(value=field._value(), list=listed)
        box = Markup("<input{}>").format(attributes({**values, **_state(field, state)}))
        options = Markup("").join(
            Markup('\n    <option value="{}">{}</option>').format(value, text)
            for value, text in field.options
        )
        html = Markup('{}\n  <datalist id="{}">{}\n  </datalist>').format(box, listed, options)
        if field.current is not None:
            html += Markup('\n  <p class="help">{} {}</p>').format(
                gettext("Selected:"), field.current
            )
        return html


class FileControl:
    """A file input, with the file stored now, the upload kept from a refused submission
    (`<name>__kept`) and a box to remove an optional file (`<name>__clear`)."""

    def __call__(self, field: Any, **state: Any) -> Markup:
        html = Markup("")
        if field.current is not None:
            html += Markup('<p class="file-current">{} {}</p>\n  ').format(
                gettext("Current file:"), field.current
            )
        values = {"type": "file", "id": field.id, "name": field.name, **_state(field, state)}
        html += Markup("<input{}>").format(attributes(values))
        if field.kept:
            html += Markup(
                '\n  <input type="hidden" name="{}__kept" value="{}">\n  <p class="help">{}</p>'
            ).format(
                field.name,
                field.kept,
                gettext("Your file was received. Choose another file only to replace it."),
            )
        if field.clearable:
            html += Markup(
                '\n  <label class="checkbox"><input type="checkbox" name="{}__clear" value="1">'
                " {}</label>"
            ).format(field.name, gettext("Remove the current file"))
        return html

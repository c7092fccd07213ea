"""Form widgets: a field → an HTML input description, and form input → raw field values.

`WidgetFactory.widget` describes the input of one field (type, value, options, errors); the
template `widgets/field.html` draws it. `read_field` turns submitted form data back into the
raw value the field type's `clean` expects (money from amount + currency, a checkbox with its
hidden fallback, tags from text or checkboxes, JSON from text). Files are handled by the form
block through `files`, never here.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from babel.core import get_global
from babel.numbers import get_territory_currencies
from markupsafe import Markup

from portalis.engine.data.errors import FieldMessage
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.definition.fieldtypes import ChoiceConfig, Money, TagsConfig
from portalis.engine.definition.model import Field

from .context import state
from .display import N_, Formatter
from .urls import portal_url

#: A reference input is a <select> when the actor can read at most this many targets.
REF_SELECT_MAX = 200
#: Suffixes of the extra inputs of one field.
CURRENCY_SUFFIX = "__currency"
CLEAR_SUFFIX = "__clear"
KEPT_SUFFIX = "__kept"

_INPUT_TYPES = {
    "string": "text",
    "email": "email",
    "phone": "tel",
    "url": "url",
    "int": "number",
    "decimal": "number",
    "date": "date",
    "datetime": "datetime-local",
}
_AUTOCOMPLETE = {"email": "email", "phone": "tel", "url": "url"}


@dataclass(slots=True)
class Widget:
    """Everything the field template needs to draw one input."""

    field_name: str
    name: str
    id: str
    label: str
    kind: str  # input | textarea | select | checkbox | checkboxes | money | file | datalist
    input_type: str = "text"
    value: str = ""
    values: frozenset[str] = frozenset()
    checked: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    currency: str = ""
    currencies: tuple[str, ...] = ()
    required: bool = False
    help: str = ""
    errors: list[str] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)
    current: Markup | None = None
    clearable: bool = False
    kept: str = ""

    @property
    def described_by(self) -> str:
        """ids of the help and error texts (for aria-describedby)."""
        ids = []
        if self.help:
            ids.append(f"{self.id}-help")
        if self.errors:
            ids.append(f"{self.id}-error")
        return " ".join(ids)


@functools.cache
def currency_codes() -> tuple[str, ...]:
    """ISO 4217 codes in legal tender somewhere today, sorted."""
    today = date.today()
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(get_territory_currencies(territory, today, tender=True))
    return tuple(sorted(c for c in codes if len(c) == 3 and c.isalpha()))


def message_text(locale: str, message: FieldMessage | str) -> str:
    """A validation message translated and filled in."""
    if isinstance(message, str):
        return state().i18n.gettext(locale, message)
    template = state().i18n.catalog(locale).gettext(message.message)
    try:
        return template.format(**message.params)
    except (KeyError, IndexError, ValueError):
        return message.text()


def input_text(field_: Field, value: Any) -> str:
    """A stored value as the text an input shows."""
    if value is None:
        return ""
    if isinstance(value, Money):
        return format(value.amount, "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if field_.type == "tags" and isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if field_.type == "json":
        return json.dumps(value, ensure_ascii=False, indent=2)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ref_options(
    store: RecordStore, actor: Actor, target: str, limit: int | None = None
) -> tuple[list[tuple[str, str]], bool]:
    """(id, title) pairs of records of `target` the actor may read, and whether that is all.

    Two queries (the rows and a count bounded at `limit`, default `REF_SELECT_MAX`) whatever
    the table's size.
    """
    limit = limit or REF_SELECT_MAX
    entity = store.entity(target)
    mask = store.policy.field_mask(actor, target, "read")
    sort = entity.title_field if entity.title_field in mask else "id"
    page = store.list(actor, target, sort=sort, page_size=limit, count_limit=limit)
    options = [(str(r.id), entity.title_of(r.values)) for r in page.records]
    return options, page.total_exact and not page.has_next


class WidgetFactory:
    """Builds widgets for one actor and locale (one form)."""

    def __init__(self, formatter: Formatter, id_prefix: str) -> None:
        self.formatter = formatter
        self.portal = formatter.portal
        self.actor = formatter.actor
        self.locale = formatter.locale
        self.id_prefix = id_prefix

    def widget(
        self,
        field_: Field,
        *,
        value: Any = None,
        form: Mapping[str, Any] | None = None,
        errors: list[str] | None = None,
        name: str | None = None,
        required: bool | None = None,
    ) -> Widget:
        """The widget of `field_` showing `value`, or the submitted `form` input after an error."""
        fmt = self.formatter
        name = name or field_.name
        help_text = fmt.label(field_.help) if field_.help is not None else ""
        w = Widget(
            field_name=field_.name,
            name=name,
            id=f"{self.id_prefix}-{name}",
            label=fmt.label(field_.label, field_.name),
            kind="input",
            required=field_.required if required is None else required,
            help=help_text,
            errors=list(errors or ()),
        )
        w.value = _submitted(form, name) if form is not None else input_text(field_, value)
        kind = field_.type
        config = field_.config
        if kind in _INPUT_TYPES:
            w.input_type = _INPUT_TYPES[kind]
            self._input_attrs(w, field_)
        elif kind in ("text", "json"):
            w.kind = "textarea"
            w.input_type = kind
            max_length = getattr(config, "max_length", None)
            if max_length and kind == "text":
                w.attrs["maxlength"] = str(max_length)
        elif kind == "choice" and isinstance(config, ChoiceConfig):
            w.kind = "select"
            w.options = [(c.value, fmt.label(c.label, c.value)) for c in config.choices]
            if form is None and value is None and field_.default is not None:
                w.value = str(field_.default)
        elif kind == "bool":
            w.kind = "checkbox"
            w.required = False
            w.checked = (
                "true" in form.getlist(name)
                if form is not None and hasattr(form, "getlist")
                else bool(value)
            )
        elif kind == "tags":
            self._tags(w, field_, value, form)
        elif kind == "money":
            self._money(w, field_, value, form)
        elif kind == "ref":
            self._ref(w, field_, value)
        elif kind == "file":
            self._file(w, field_, value, form)
        return w

    def _input_attrs(self, w: Widget, field_: Field) -> None:
        config = field_.config
        kind = field_.type
        if kind in _AUTOCOMPLETE:
            w.attrs["autocomplete"] = _AUTOCOMPLETE[kind]
        max_length = getattr(config, "max_length", None)
        if kind == "string" and max_length:
            w.attrs["maxlength"] = str(max_length)
        if kind in ("int", "decimal", "date"):
            for key in ("min", "max"):
                bound = getattr(config, key, None)
                if bound is not None:
                    w.attrs[key] = bound.isoformat() if isinstance(bound, date) else str(bound)
        if kind == "int":
            w.attrs["step"] = "1"
        elif kind == "decimal":
            places = int(getattr(config, "places", 2))
            w.attrs["step"] = format(Decimal(1).scaleb(-places), "f") if places else "1"
            w.attrs["inputmode"] = "decimal"
        elif kind == "datetime":
            w.attrs["step"] = "60"
            w.help = w.help or self.formatter.gettext("Time in UTC")

    def _tags(self, w: Widget, field_: Field, value: Any, form: Mapping[str, Any] | None) -> None:
        config = field_.config
        if isinstance(config, TagsConfig) and config.restricted:
            w.kind = "checkboxes"
            w.options = [(c.value, self.formatter.label(c.label, c.value)) for c in config.choices]
            if form is not None and hasattr(form, "getlist"):
                w.values = frozenset(v for v in form.getlist(w.name) if v)
            else:
                w.values = frozenset(value or ())
            return
        w.help = w.help or self.formatter.gettext("Separate tags with commas")

    def _money(self, w: Widget, field_: Field, value: Any, form: Mapping[str, Any] | None) -> None:
        w.kind = "money"
        w.input_type = "number"
        w.attrs.update(step="any", inputmode="decimal")
        default = getattr(field_.config, "currency", "") or self.portal.compiled.model.currency
        if form is not None:
            w.currency = str(form.get(w.name + CURRENCY_SUFFIX) or default)
        else:
            w.currency = value.currency if isinstance(value, Money) else default
        codes = tuple(getattr(field_.config, "allowed", ())) or currency_codes()
        w.currencies = codes if w.currency in codes else (w.currency, *codes)

    def _ref(self, w: Widget, field_: Field, value: Any) -> None:
        target = getattr(field_.config, "to", "")
        options, complete = ref_options(self.portal.store, self.actor, target)
        w.options = options
        if complete:
            w.kind = "select"
            return
        w.kind = "datalist"
        w.attrs.update(
            inputmode="text",
            autocomplete="off",
            **{"data-autocomplete": portal_url(f"/_ac/{target}")},
        )
        w.help = w.help or self.formatter.gettext("Type a name or a number, or pick a suggestion")
        if value is not None:
            title = self.portal.store.titles(self.actor, target, [value]).get(int(value))
            if title is not None:
                w.current = Markup("{}").format(title)

    def _file(self, w: Widget, field_: Field, value: Any, form: Mapping[str, Any] | None) -> None:
        w.kind = "file"
        accept = sorted(getattr(field_.config, "accept", ()) or ())
        if accept:
            w.attrs["accept"] = ",".join(f".{a}" for a in accept)
        max_bytes = int(getattr(field_.config, "max_bytes", 0) or 0)
        parts = []
        if accept:
            parts.append(", ".join(a.upper() for a in accept))
        if max_bytes:
            parts.append(self.formatter.gettext("up to %(size)s MB", size=_megabytes(max_bytes)))
        w.help = w.help or " · ".join(parts)
        w.value = ""
        if form is not None:
            w.kept = str(form.get(w.name + KEPT_SUFFIX) or "")
        if value:
            self.formatter.prepare_files([str(value)])
            w.current = self.formatter.value_html(field_, value)
            w.clearable = not field_.required
            w.required = False
        if w.kept:
            w.required = False


def _megabytes(size: int) -> str:
    number = size / (1024 * 1024)
    return f"{number:.0f}" if number >= 10 or number == int(number) else f"{number:.1f}"


def _submitted(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# -- reading submitted values ---------------------------------------------------------------
def read_field(field_: Field, form: Mapping[str, Any], name: str | None = None) -> Any:
    """The raw value of one rendered field from submitted form data (files excluded).

    Raises ValueError (with a user-facing message) for JSON that does not parse.
    """
    name = name or field_.name
    kind = field_.type
    getlist = getattr(form, "getlist", None)
    if kind == "bool":
        values = getlist(name) if getlist else [form.get(name)]
        return "true" in values
    if kind == "tags" and isinstance(field_.config, TagsConfig) and field_.config.restricted:
        values = getlist(name) if getlist else [form.get(name)]
        return [v for v in values if v]
    if kind == "money":
        amount = str(form.get(name) or "").strip()
        if not amount:
            return None
        default = getattr(field_.config, "currency", "")
        currency = str(form.get(name + CURRENCY_SUFFIX) or default).strip().upper()
        return {"amount": amount, "currency": currency or default}
    raw = form.get(name)
    if kind == "json":
        text = str(raw or "").strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ValueError(N_("must be valid JSON")) from exc
    return raw


def resolve_ref(store: RecordStore, actor: Actor, target: str, raw: Any) -> Any:
    """A typed reference (an id, or a title that names exactly one readable record) → id.

    Raises ValueError when the text names no record or several.
    """
    text = str(raw or "").strip()
    if not text or text.isdigit():
        return text or None
    matches = store.autocomplete(actor, target, text[:100], limit=10)
    exact = [rid for rid, title in matches if title.casefold() == text.casefold()]
    if len(exact) == 1:
        return exact[0]
    if len(matches) == 1:
        return matches[0][0]
    if not matches:
        raise ValueError(N_("no matching record was found"))
    raise ValueError(N_("several records match; type more of the name or pick a suggestion"))

"""The WTForms fields of the built-in field types (`RecordInput` and its kinds).

A record input parses what the browser sent into the *raw* value the field type's `clean`
expects — text as typed, `true`/`false` from a checkbox, an amount with its currency, the
chosen tags, parsed JSON — and leaves validation to the record store, so a form never accepts
what the store would refuse or refuses what it would accept. Input that cannot even be read
(JSON that does not parse, a reference whose text names no record) becomes a field error
before anything is written.

The classes are bound into the form classes of a portal version once; per request the form
calls `prepare` with an `InputContext` (the reader's formatter, the stored value) for what
depends on the reader: option labels in their language, the references they may choose, the
help texts, the file already stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from markupsafe import Markup
from wtforms import Field
from wtforms.utils import unset_value

from portalis.engine.definition.fieldtypes import ChoiceConfig, Money, TagsConfig
from portalis.engine.definition.model import Field as FieldSpec

from ..templating import gettext
from ..urls import portal_url
from ..widgets import (
    CLEAR_SUFFIX,
    CURRENCY_SUFFIX,
    KEPT_SUFFIX,
    currency_codes,
    input_text,
    megabytes,
    ref_options,
    resolve_ref,
)
from .controls import (
    CheckboxControl,
    CheckboxesControl,
    Control,
    DatalistControl,
    FileControl,
    InputControl,
    MoneyControl,
    SelectControl,
    TextareaControl,
)

if TYPE_CHECKING:
    from ..display import Formatter


@dataclass(frozen=True, slots=True)
class InputContext:
    """What an input may look at while a form is rendered or read for one reader."""

    formatter: Formatter
    #: the value stored now (the record's, or the default of a new one)
    stored: Any = None
    #: the record's currency where a money field takes it from context and it is known
    currency: str = ""

    @property
    def locale(self) -> str:
        """The reader's locale."""
        return self.formatter.locale


class RecordInput(Field):
    """Base of the built-in record inputs: `data` is the raw value for the store.

    `kind` names the wrapper's CSS class (`field-<kind>`); `own_label` says the control
    draws its label itself (a checkbox inside its label, a fieldset's legend). Per-request
    state — options, help, the stored file — is set by `prepare`.
    """

    kind: str = "input"
    own_label: ClassVar[bool] = False
    widget: Control = InputControl()

    def __init__(
        self,
        label: str | None = None,
        validators: list[Any] | None = None,
        *,
        spec: FieldSpec | None = None,
        input_type: str = "text",
        **kwargs: Any,
    ) -> None:
        super().__init__(label, validators, **kwargs)
        self.spec = spec
        self.input_type = input_type
        #: the text as typed (None when the form shows a stored value)
        self.typed: str | None = None
        self.help = ""
        self.attrs: dict[str, Any] = {}
        self.options: list[tuple[str, str]] = []
        self.current: Markup | None = None

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        """Read the field from `formdata` (a submission) or show `data` (a stored value)."""
        self.typed = None
        super().process(formdata, data, extra_filters)

    def process_formdata(self, valuelist: list[Any]) -> None:
        """The text as sent (None when the browser sent nothing)."""
        self.typed = str(valuelist[0]) if valuelist else ""
        self.data = valuelist[0] if valuelist else None

    def _value(self) -> str:
        if self.typed is not None:
            return self.typed
        return input_text(self.spec, self.data) if self.spec is not None else ""

    def prepare(self, ctx: InputContext) -> None:
        """Per-request state before rendering (the base input has none)."""

    def shown_required(self, required: bool) -> bool:
        """Whether the input is marked required (a checkbox never is)."""
        return required

    def store_value(self, ctx: InputContext) -> Any:
        """The raw value handed to the record store."""
        return self.data


class TextInput(RecordInput):
    """`<input>` of text, number, date, e-mail, phone and URL fields, and of free tags."""

    def prepare(self, ctx: InputContext) -> None:
        """Default help of a date-time (UTC) and of free tags (commas)."""
        if self.input_type == "datetime-local":
            self.help = ctx.formatter.gettext("Time in UTC")
        elif self.spec is not None and self.spec.type == "tags":
            self.help = ctx.formatter.gettext("Separate tags with commas")


class TextareaInput(RecordInput):
    """`<textarea>` of text; of JSON too, parsed on the way in."""

    kind = "textarea"
    widget = TextareaControl()

    def prepare(self, ctx: InputContext) -> None:
        """Default help of a markdown field: what the text may hold."""
        if self.spec is not None and self.spec.type == "markdown":
            self.help = ctx.formatter.gettext(
                "Markdown is accepted: **bold**, *italic*, lists, [links](https://…), headings "
                "with #. HTML is shown as text."
            )

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Text as typed; JSON parsed (a ValueError becomes the field's error)."""
        super().process_formdata(valuelist)
        if self.input_type != "json":
            return
        text = (self.typed or "").strip()
        self.data = None
        if text:
            try:
                self.data = json.loads(text)
            except (ValueError, RecursionError) as exc:
                raise ValueError(gettext("must be valid JSON")) from exc


class ChoiceInput(RecordInput):
    """`<select>` of a choice field; a new record shows the field's default."""

    kind = "select"
    widget = SelectControl()

    def _value(self) -> str:
        if self.typed is None and self.data is None and self.spec is not None:
            return "" if self.spec.default is None else str(self.spec.default)
        return super()._value()

    def prepare(self, ctx: InputContext) -> None:
        """The choices, labelled in the reader's language."""
        config = self.spec.config if self.spec is not None else None
        if isinstance(config, ChoiceConfig):
            fmt = ctx.formatter
            self.options = [(c.value, fmt.label(c.label, c.value)) for c in config.choices]


class BoolInput(RecordInput):
    """A checkbox: checked sends `true` (after the hidden `false`)."""

    kind = "checkbox"
    own_label = True
    widget = CheckboxControl()

    def process_formdata(self, valuelist: list[Any]) -> None:
        """True when `true` is among the values sent."""
        self.typed = "true" if "true" in valuelist else "false"
        self.data = "true" in valuelist

    @property
    def checked(self) -> bool:
        """Whether the box is ticked."""
        return bool(self.data)

    def shown_required(self, required: bool) -> bool:
        """Unticked is an answer too."""
        return False


class TagChoicesInput(RecordInput):
    """Checkboxes of tags restricted to their choices."""

    kind = "checkboxes"
    own_label = True
    widget = CheckboxesControl()

    def process_formdata(self, valuelist: list[Any]) -> None:
        """The ticked values (the hidden empty one dropped)."""
        self.typed = ""
        self.data = [str(v) for v in valuelist if v]

    @property
    def values(self) -> frozenset[str]:
        """The ticked tags."""
        return frozenset(str(v) for v in (self.data or ()))

    def prepare(self, ctx: InputContext) -> None:
        """The tags, labelled in the reader's language."""
        config = self.spec.config if self.spec is not None else None
        if isinstance(config, TagsConfig):
            fmt = ctx.formatter
            self.options = [(c.value, fmt.label(c.label, c.value)) for c in config.choices]


class MoneyInput(RecordInput):
    """An amount and a currency (`<name>__currency`); empty amount → no value."""

    kind = "money"
    widget = MoneyControl()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = ""
        self.currencies: tuple[str, ...] = ()
        self.typed_currency: str | None = None

    @property
    def currency_name(self) -> str:
        """The name of the currency's `<select>`."""
        return self.name + CURRENCY_SUFFIX

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        """The amount from `<name>`, the currency from `<name>__currency`."""
        self.typed_currency = None
        if formdata is not None:
            self.typed_currency = str(formdata.get(self.currency_name) or "")
        super().process(formdata, data, extra_filters)

    def process_formdata(self, valuelist: list[Any]) -> None:
        """`{"amount", "currency"}` as typed (the field's currency when none was chosen)."""
        super().process_formdata(valuelist)
        amount = (self.typed or "").strip()
        if self.contextual:  # the record's currency decides (`currency: {from: …}`)
            self.data = {"amount": amount} if amount else None
            return
        default = str(getattr(self.spec.config, "currency", "") if self.spec else "")
        currency = (self.typed_currency or default).strip().upper()
        self.data = {"amount": amount, "currency": currency or default} if amount else None

    @property
    def contextual(self) -> bool:
        """True when each record's currency comes from its context: no currency to choose."""
        return bool(getattr(self.spec.config, "currency_from", "") if self.spec else "")

    def prepare(self, ctx: InputContext) -> None:
        """The currency shown (typed, stored, the field's or the portal's) and the list."""
        model = ctx.formatter.model
        default = str(getattr(self.spec.config, "currency", "") if self.spec else "")
        default = default or model.currency
        if self.typed_currency is not None:
            self.currency = self.typed_currency or default
        else:
            stored = ctx.stored
            self.currency = stored.currency if isinstance(stored, Money) else default
        if self.contextual:
            stored = ctx.stored
            self.currency = stored.currency if isinstance(stored, Money) else ctx.currency
            self.currencies = ()
            if not self.currency:  # e.g. a new order whose account is chosen in this form
                self.help = ctx.formatter.gettext(
                    "In the currency of this record, set when it is saved"
                )
            return
        allowed = tuple(getattr(self.spec.config, "allowed", ()) if self.spec else ())
        codes = allowed or currency_codes()
        self.currencies = codes if self.currency in codes else (self.currency, *codes)


class RefInput(RecordInput):
    """A reference: a `<select>` of the records the reader may choose, or — when there are
    too many — a text input with suggestions that accepts an id or a unique title."""

    kind = "select"

    @property
    def target(self) -> str:
        """The referenced entity."""
        return str(getattr(self.spec.config, "to", "") if self.spec else "")

    def prepare(self, ctx: InputContext) -> None:
        """The options the reader may choose; a datalist when they are not all listed."""
        fmt = ctx.formatter
        options, complete = ref_options(fmt.portal.store, fmt.actor, self.target)
        self.options = options
        if complete:
            self.kind, self.widget = "select", SelectControl()
            return
        self.kind, self.widget = "datalist", DatalistControl()
        self.attrs.update(
            inputmode="text",
            autocomplete="off",
            data_autocomplete=portal_url(f"/_ac/{self.target}"),
        )
        self.help = fmt.gettext("Type a name or a number, or pick a suggestion")
        if ctx.stored is not None:
            title = fmt.portal.store.titles(fmt.actor, self.target, [ctx.stored]).get(
                int(ctx.stored)
            )
            if title is not None:
                self.current = Markup("{}").format(title)

    def store_value(self, ctx: InputContext) -> Any:
        """The id typed or chosen, or the one record whose title was typed (ValueError
        when the text names none or several)."""
        value = self.data
        if isinstance(value, str):
            fmt = ctx.formatter
            return resolve_ref(fmt.portal.store, fmt.actor, self.target, value)
        return value


class FileInput(RecordInput):
    """A file upload; the upload itself is stored by the form block (`files`)."""

    kind = "file"
    widget = FileControl()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kept = ""
        self.clear = False
        self.clearable = False

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        """The upload (when `formdata` holds files), the file kept from a refused
        submission and the "remove" box."""
        self.kept, self.clear = "", False
        if formdata is not None:
            self.kept = str(formdata.get(self.name + KEPT_SUFFIX) or "")
            self.clear = bool(formdata.get(self.name + CLEAR_SUFFIX))
        super().process(formdata, data, extra_filters)

    def process_formdata(self, valuelist: list[Any]) -> None:
        """The uploaded file, if one was chosen."""
        upload = next((v for v in valuelist if getattr(v, "filename", None)), None)
        self.typed = ""
        self.data = upload

    def _value(self) -> str:
        return ""

    def prepare(self, ctx: InputContext) -> None:
        """Accepted types and size as help; the stored file (removable when optional)."""
        fmt = ctx.formatter
        config = self.spec.config if self.spec is not None else None
        accept = sorted(getattr(config, "accept", ()) or ())
        if accept:
            self.attrs["accept"] = ",".join(f".{a}" for a in accept)
        max_bytes = int(getattr(config, "max_bytes", 0) or 0)
        parts = []
        if accept:
            parts.append(", ".join(a.upper() for a in accept))
        if max_bytes:
            parts.append(fmt.gettext("up to %(size)s MB", size=megabytes(max_bytes)))
        self.help = " · ".join(parts)
        if ctx.stored and self.spec is not None:
            fmt.prepare_files([str(ctx.stored)])
            self.current = fmt.value_html(self.spec, ctx.stored)
            self.clearable = not self.spec.required

    def shown_required(self, required: bool) -> bool:
        """Not while a file is stored or kept: leaving it empty keeps that file."""
        return required and self.current is None and not self.kept

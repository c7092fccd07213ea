"""Which WTForms field a field type gets in HTML forms.

Every field type supplies the WTForms field of its inputs through a *form field factory*: a
callable that takes the compiled field (`portalis.api.Field`: its name, options, label) and
returns an unbound WTForms field (`wtforms.IntegerField(...)` called without a form, or
`UnboundField(...)`). A field type may carry its own factory as a `form_field(field)` method;
otherwise a plugin registers one for the type's name through `portalis_form_fields` — the
built-in types are registered that way by the runtime's default plugin. A type with neither
gets a text input whose text goes to the type's `clean` unchanged.

The engine knows nothing of this: `form_field` is an attribute the runtime looks for, and the
factories are collected here, once per application. Form classes are built from them once per
published version (`forms.record.PortalForms`), never per request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pluggy
from wtforms.fields.core import UnboundField

from portalis.engine.definition.model import Field

from .inputs import TextInput

#: Makes the WTForms field (unbound) of one field of a portal definition. Its `data` after a
#: submission is the raw value handed to the field type's `clean`; when the form shows a
#: stored record it receives the value as the field type reads it from storage.
FormFieldFactory = Callable[[Field], "UnboundField[Any]"]


def text_input(field: Field) -> UnboundField[Any]:
    """The input of a type that supplies none: a text box, its text cleaned by the type."""
    return UnboundField(TextInput, spec=field, input_type="text")


class FormFields:
    """Form field factories by field type name (built per application from the plugins)."""

    def __init__(self, factories: Mapping[str, FormFieldFactory]) -> None:
        self._factories = dict(factories)

    @classmethod
    def from_plugins(cls, pm: pluggy.PluginManager) -> FormFields:
        """The factories of every `portalis_form_fields` implementation; a plugin registered
        later overrides an earlier one for the same type."""
        results: list[Mapping[str, FormFieldFactory]] = pm.hook.portalis_form_fields()
        merged: dict[str, FormFieldFactory] = {}
        for result in reversed(results):  # pluggy answers last-registered first
            merged.update(result)
        return cls(merged)

    def factory(self, field: Field) -> FormFieldFactory:
        """The factory of `field`'s inputs: its type's own `form_field`, else the one
        registered for the type's name, else a text input."""
        own: FormFieldFactory | None = getattr(field.kind, "form_field", None)
        return own or self._factories.get(field.type) or text_input

    def unbound(self, field: Field) -> UnboundField[Any]:
        """The unbound WTForms field of `field` (called while a version's form classes are
        built)."""
        made = self.factory(field)(field)
        if not hasattr(made, "bind"):
            raise TypeError(
                f"the form field of {field.type!r} fields must be an unbound WTForms field "
                f"(a field class called without a form), not {made!r}"
            )
        return made

    def names(self) -> list[str]:
        """Type names with a registered factory, sorted."""
        return sorted(self._factories)

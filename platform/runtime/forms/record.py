"""The form classes of a published version: built once when it is loaded, bound per request.

`PortalForms` builds one WTForms form class per record form of the definition (the fields of
a `form` block) and one per workflow transition (its required fields and its comment), each
field from its type's form field factory (`forms.fieldtypes`). A request binds an instance
with only the inputs the actor may write (`only=`): a field the grants do not let through is
never bound, so whatever the browser sends for it is never read. The classes derive from
WTForms' `BaseForm`, whose fields are reached by name (`form["status"]`), so no field name
of a definition can clash with a method of the form.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from wtforms.fields import IntegerField
from wtforms.fields.core import UnboundField
from wtforms.form import BaseForm
from wtforms.widgets import HiddenInput

from portalis.engine.definition.block_configs import FormBlock
from portalis.engine.definition.flow_model import Transition
from portalis.engine.definition.model import Entity, PortalModel
from portalis.engine.flow.workflow import COMMENT_KEY, MAX_COMMENT_LENGTH

from .base import PortalMeta
from .fieldtypes import FormFields
from .inputs import TextareaInput

if TYPE_CHECKING:
    from ..registry import RuntimePortal

#: The hidden field of a transition form with the record version it was shown for.
VERSION_FIELD = "version"
Unbound = tuple[tuple[str, "UnboundField[Any]"], ...]


class RecordForm(BaseForm):
    """The inputs of one record form; each class built per version holds its fields."""

    entity: ClassVar[str] = ""
    unbound: ClassVar[Unbound] = ()

    def __init__(
        self, locale: str | None = None, only: Collection[str] | None = None, prefix: str = ""
    ) -> None:
        # `prefix` names the inputs of one row of a form's lines (`lines-2-quantity`)
        fields = [(n, u) for n, u in self.unbound if only is None or n in only]
        super().__init__(fields, prefix=prefix, meta=PortalMeta(locale))


class TransitionForm(RecordForm):
    """A transition's form: the record version, its required fields, its comment."""

    transition: ClassVar[str] = ""


def _version_field() -> UnboundField[Any]:
    # a number the page was shown with; anything else is a broken form (400), not a field error
    return UnboundField(IntegerField, widget=HiddenInput())


class PortalForms:
    """The WTForms classes of one portal version (kept on its `RuntimePortal`)."""

    def __init__(self, model: PortalModel, fields: FormFields) -> None:
        self.model = model
        self.fields = fields
        #: how many form classes this version built (asserted in tests: none per request)
        self.built = 0
        self._records: dict[tuple[str, tuple[str, ...]], type[RecordForm]] = {}
        self._transitions: dict[tuple[str, str], type[TransitionForm]] = {}
        for page in model.pages.values():
            for block in page.blocks:
                if isinstance(block.config, FormBlock):
                    entity = model.entities[block.config.entity]
                    self.record_form(entity, block_fields(block.config, entity))
                    lines = block.config.lines
                    if lines is not None:
                        self.record_form(model.entities[lines.entity], lines.fields)
        for workflow in model.workflows.values():
            entity = model.entities[workflow.entity]
            for transition in workflow.transitions.values():
                self.transition_form(entity, transition)

    def record_form(self, entity: Entity, names: Iterable[str]) -> type[RecordForm]:
        """The form class of these fields of `entity` (built on first use, then kept)."""
        key = (entity.name, tuple(names))
        found = self._records.get(key)
        if found is None:
            unbound = tuple((n, self.fields.unbound(entity.fields[n])) for n in key[1])
            found = type(
                f"{_camel(entity.name)}Form",
                (RecordForm,),
                {"entity": entity.name, "unbound": unbound, "__module__": __name__},
            )
            self._records[key] = found
            self.built += 1
        return found

    def transition_form(self, entity: Entity, transition: Transition) -> type[TransitionForm]:
        """The form class of a transition of `entity`."""
        key = (entity.name, transition.name)
        found = self._transitions.get(key)
        if found is None:
            unbound: list[tuple[str, UnboundField[Any]]] = [(VERSION_FIELD, _version_field())]
            unbound += [
                (n, self.fields.unbound(entity.fields[n]))
                for n in transition.require
                if n in entity.fields
            ]
            if transition.comment != "none":
                comment = UnboundField(
                    TextareaInput,
                    input_type="comment",
                    render_kw={"rows": "3", "maxlength": str(MAX_COMMENT_LENGTH)},
                )
                unbound.append((COMMENT_KEY, comment))
            found = type(
                f"{_camel(entity.name)}{_camel(transition.name)}Form",
                (TransitionForm,),
                {
                    "entity": entity.name,
                    "transition": transition.name,
                    "unbound": tuple(unbound),
                    "__module__": __name__,
                },
            )
            self._transitions[key] = found
            self.built += 1
        return found


def block_fields(cfg: FormBlock, entity: Entity) -> tuple[str, ...]:
    """The fields a form block may show as inputs (its parent reference is set, not typed)."""
    return tuple(n for n in cfg.fields if n in entity.fields and n != cfg.parent)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def portal_forms(portal: RuntimePortal) -> PortalForms:
    """The form classes of the version `portal` serves (built when it was loaded)."""
    if portal.forms is None:
        raise LookupError(f"portal {portal.slug!r} was loaded without its form classes")
    return portal.forms

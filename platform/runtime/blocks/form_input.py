"""What a `form` block shows to an actor and what it reads back from a submission.

`FormPlan` holds the inputs the actor may write (and the fields shown read-only); `bind`
instantiates this version's form class for the block with only those inputs, so a field
the actor may not write is never read from the POST even when it is sent. `read` turns the
bound WTForms fields into the raw values the record store cleans — uploads stored, a
reference typed as a title resolved — and collects the errors found on the way;
`current_values` is the record as the input so far would make it, for the conditions
(`visible_when`, `required_when`) the browser mirrors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import abort
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from wtforms.fields import FileField

from portalis.engine.data.errors import FieldMessage
from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Record
from portalis.engine.definition.block_configs import FormBlock
from portalis.engine.definition.fields import FieldValueError
from portalis.engine.definition.model import Entity, Field
from portalis.engine.expr.expressions import EvaluationError

from ..display import Formatter
from ..files import owned_by, save_upload
from ..forms.inputs import FileInput, InputContext, RecordInput
from ..forms.record import RecordForm, block_fields, portal_forms
from ..uploads import UploadRejected, UploadTooLarge, files_root
from ..widgets import KEPT_SUFFIX, message_text
from .base import BlockContext
from .detail import field_visible

Errors = dict[str, list[str]]


def field_required(f: Field, record: Record, actor: Actor) -> bool:
    """True when the field is required, or its `required_when` holds for `record`."""
    if f.required or f.required_when is None:
        return f.required
    try:
        return bool(f.required_when.test(record=dict(record.values), actor=actor))
    except EvaluationError:
        return False


@dataclass(slots=True)
class FormPlan:
    """What one form shows and accepts for the actor."""

    entity: Entity
    mode: str
    record: Record | None
    values: dict[str, Any]
    inputs: list[Field] = field(default_factory=list)
    readonly: list[str] = field(default_factory=list)
    parent: tuple[str, int] | None = None
    #: inputs with visible_when/required_when (mirrored in the browser)
    conditional: set[str] = field(default_factory=set)
    #: the record's currency of money inputs that take it from context, where known
    currencies: dict[str, str] = field(default_factory=dict)

    def states(self, values: Mapping[str, Any], actor: Actor) -> dict[str, dict[str, bool]]:
        """`{field: {visible, required}}` of the conditional inputs for `values`."""
        probe = Record(self.entity.name, values)
        out = {}
        for f in self.inputs:
            if f.name in self.conditional:
                visible = field_visible(f, probe, actor)
                out[f.name] = {
                    "visible": visible,
                    "required": visible and field_required(f, probe, actor),
                }
        return out


def bind(ctx: BlockContext, plan: FormPlan) -> RecordForm:
    """An instance of this version's form class for the block, with only the actor's
    inputs (the class was built when the version was loaded)."""
    cfg: FormBlock = ctx.block.config
    cls = portal_forms(ctx.portal).record_form(plan.entity, block_fields(cfg, plan.entity))
    return cls(ctx.locale, only={f.name for f in plan.inputs})


def takes_files(bound: Any) -> bool:
    """True for a file input (the form is then sent as multipart and reads uploads)."""
    return isinstance(bound, FileInput | FileField)


def store_value(bound: Any, ctx: InputContext) -> Any:
    """The raw value an input hands to the store (a plugin's WTForms field: its `data`)."""
    return bound.store_value(ctx) if isinstance(bound, RecordInput) else bound.data


def input_context(ctx: BlockContext) -> InputContext:
    """The context the inputs of this block read with."""
    return InputContext(Formatter(ctx.portal, ctx.actor, ctx.locale))


def current_values(ctx: BlockContext, plan: FormPlan, form: RecordForm) -> dict[str, Any]:
    """The record as the submitted input would make it (for the conditions only: input
    that does not clean counts as empty, files keep their current value)."""
    values = dict(plan.values)
    reading = input_context(ctx)
    for f in plan.inputs:
        bound = form[f.name]
        if isinstance(bound, FileInput):
            continue
        try:
            if bound.process_errors:
                raise ValueError(bound.process_errors[0])
            values[f.name] = f.kind.clean(f, store_value(bound, reading))
        except (ValueError, FieldValueError):
            values[f.name] = None
    return values


def read(
    ctx: BlockContext, plan: FormPlan, form: MultiDict[str, Any]
) -> tuple[dict[str, Any], Errors]:
    """Raw values of the form's inputs (uploads stored), and errors found on the way."""
    inputs = bind(ctx, plan)
    uploads: MultiDict[str, Any] = MultiDict()
    for f in plan.inputs:
        if takes_files(inputs[f.name]) and ctx.files is not None:
            # only a file input reads uploads: a file sent under another field's name is
            # not that field's text
            uploads.setlist(f.name, list(MultiDict(ctx.files).getlist(f.name)))
    inputs.process(formdata=CombinedMultiDict([uploads, form]))
    inputs.validate()  # conversion errors and a plugin field's own validators
    reading = input_context(ctx)
    raw: dict[str, Any] = {}
    errors: Errors = {}
    for f in plan.inputs:
        bound = inputs[f.name]
        if f.name in plan.conditional and not takes_files(bound) and f.name not in form:
            continue  # hidden in the browser (disabled): the store decides its value
        if bound.errors:
            errors[f.name] = list(bound.errors)
            continue
        try:
            if isinstance(bound, FileInput):
                read_file(ctx, plan, bound, form, raw)
            else:
                raw[f.name] = store_value(bound, reading)
        except (ValueError, UploadRejected) as exc:
            message = exc.message if isinstance(exc, UploadRejected) else str(exc)
            params = exc.params if isinstance(exc, UploadRejected) else {}
            errors[f.name] = [message_text(ctx.locale, FieldMessage("invalid", message, params))]
    return raw, errors


def read_file(
    ctx: BlockContext,
    plan: FormPlan,
    bound: FileInput,
    form: MultiDict[str, Any],
    raw: dict[str, Any],
) -> None:
    """Store a new upload, or keep the one uploaded before a failed submission."""
    f = bound.spec
    if f is None:  # pragma: no cover - every record input knows its field
        return
    upload: Any = bound.data
    if upload is not None and upload.filename:
        try:
            file_id = save_upload(ctx.portal, ctx.actor, f.config, upload, files_root())
        except UploadTooLarge:
            abort(413)
        raw[f.name] = file_id
        form[f.name + KEPT_SUFFIX] = file_id
        return
    if bound.kept:
        if not owned_by(ctx.store.engine, ctx.portal.slug, bound.kept, ctx.actor):
            form.pop(f.name + KEPT_SUFFIX, None)
            raise UploadRejected("file", "the uploaded file is not available; choose it again")
        raw[f.name] = bound.kept
    elif bound.clear and plan.record is not None:
        raw[f.name] = None

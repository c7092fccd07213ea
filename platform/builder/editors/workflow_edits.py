"""What the workflows editor changes: a workflow's states (the options of its choice field),
transitions and timers, as `BundleEdit` operations from posted forms.

A state rename renames the option and every place of the workflow that names the state
(`initial`, transitions' `from`/`to`, timers' `state`) and the field's `default`, and marks a
state the live version has with `renamed_from` (deploying moves its records); a removal is
refused while something still names the state. A transition's name, states, roles, label and
`when` are hand-made controls; its other keys (`require`, `comment`, `allow_self_approval`,
`assignee_field`, `approvals`, `actions`) and every timer are generated forms
(`schema_form`) of the definition schema's `transition` and `timer` sub-schemas. Only keys
whose value changed become operations, so untouched YAML keeps its text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from ..editing import Operation
from ..schema_form import UNSET, SchemaForm
from .fields import NAME_PATTERN, _label_ops
from .workflow_model import Transition, Workflow

_NAME = re.compile(NAME_PATTERN)
#: Transition keys edited through the generated form (the rest are hand-made controls).
TRANSITION_EXTRAS = (
    "require",
    "comment",
    "allow_self_approval",
    "assignee_field",
    "approvals",
    "actions",
)


@dataclass(frozen=True, slots=True)
class Made:
    """The operations of one posted form, or the errors that stop it."""

    operations: tuple[Operation, ...]
    errors: Mapping[str, str]


def _set(path: tuple[str | int, ...], value: Any) -> Operation:
    return lambda edit: edit.set(path, value)


def _delete(path: tuple[str | int, ...]) -> Operation:
    return lambda edit: edit.delete(path)


def flow_path(flow: str, *rest: str | int) -> tuple[str | int, ...]:
    """The definition path of a workflow (or of something in it)."""
    return ("workflows", flow, *rest)


def add_state(flow: Workflow, value: str, label: str, locale: str) -> list[Operation]:
    """Append the state `value` to the workflow's field options."""
    option = {"value": value, "label": {locale: label}}
    return [lambda edit: edit.append(flow.option_path, option)]


def rename_state(
    flow: Workflow, field: Mapping[str, Any], old: str, new: str, live: frozenset[str]
) -> list[Operation]:
    """Rename state `old` to `new` in the field's options and everywhere the workflow names
    it (the field's `default` too).

    `live` are the states the live version offers: renaming one of them writes
    `renamed_from: <old>` on the option, so deploying moves its records along; an option that
    has `renamed_from` already keeps it (the live name), or loses it when renamed back."""
    index = flow.states.index(old)
    here: tuple[str | int, ...] = (*flow.option_path, index)
    ops = [_set((*here, "value"), new)]
    options = [o for o in field.get("options") or () if isinstance(o, Mapping)]
    had = options[index].get("renamed_from") if index < len(options) else None
    if had is not None and had == new:
        ops.append(_delete((*here, "renamed_from")))
    elif had is None and old in live:
        ops.append(_set((*here, "renamed_from"), old))
    if field.get("default") == old:
        ops.append(_set(("entities", flow.entity, "fields", flow.field, "default"), new))
    if flow.initial == old:
        ops.append(_set(flow_path(flow.name, "initial"), new))
    for t in flow.transitions:
        here = flow_path(flow.name, "transitions", t.index)
        if old in t.sources:
            at = (*here, "from", t.sources.index(old)) if t.from_is_list else (*here, "from")
            ops.append(_set(at, new))
        if t.target == old:
            ops.append(_set((*here, "to"), new))
    for timer in flow.timers:
        if timer.state == old:
            ops.append(_set(flow_path(flow.name, "timers", timer.index, "state"), new))
    return ops


def remove_state(flow: Workflow, value: str) -> list[Operation]:
    """Remove state `value` from the field's options (the caller checks `flow.uses`)."""
    return [_delete((*flow.option_path, flow.states.index(value)))]


def extras_form(schema: Mapping[str, Any], spec: Mapping[str, Any], index: int) -> SchemaForm:
    """The generated form of transition `index`'s other keys (see `TRANSITION_EXTRAS`), from
    the definition schema's `transition` sub-schema; its controls are named `t<index>.<key>`
    (ids unique on the page)."""
    defs = schema.get("$defs", {})
    props = defs.get("transition", {}).get("properties", {})
    sub = {
        "type": "object",
        "properties": {k: props[k] for k in TRANSITION_EXTRAS if k in props},
        "$defs": defs,
    }
    return SchemaForm(sub, {k: spec[k] for k in TRANSITION_EXTRAS if k in spec}, f"t{index}")


def timer_form(
    schema: Mapping[str, Any], flow: Workflow, spec: Mapping[str, Any], index: int
) -> SchemaForm:
    """The generated form of timer `index`, from the definition schema's `timer` sub-schema
    (controls named `timer<index>.<key>`). Its `state` and `transition` are picked among the
    workflow's states and transitions: the schema gets their names as an `enum`, so the
    form shows selects and a posted name that is none of them is refused."""
    defs = schema.get("$defs", {})
    timer = dict(defs.get("timer", {}))
    props = dict(timer.get("properties", {}))
    props["state"] = {**props.get("state", {}), "enum": list(flow.states)}
    names = [t.name for t in flow.transitions]
    if names:
        props["transition"] = {**props.get("transition", {}), "enum": names}
    timer["properties"] = props
    return SchemaForm({**timer, "$defs": defs}, spec, f"timer{index}")


def transition_edit(
    schema: Mapping[str, Any],
    flow: Workflow,
    seen: Transition,
    locales: tuple[str, ...],
    form: MultiDict[str, str],
) -> Made:
    """Operations that make transition `seen` what the posted form says."""
    here = flow_path(flow.name, "transitions", seen.index)
    spec = seen.spec
    ops: list[Operation] = []
    errors: dict[str, str] = {}
    name = form.get("name", "").strip()
    if name != seen.name and (not _NAME.match(name) or name in {t.name for t in flow.transitions}):
        errors["name"] = "not a new transition name (a-z, 0-9, _)"
    elif name != seen.name:
        ops.append(_set((*here, "name"), name))
        for timer in flow.timers:  # a timer that takes the transition follows the rename
            if timer.spec.get("transition") == seen.name:
                ops.append(_set(flow_path(flow.name, "timers", timer.index, "transition"), name))
    sources = [s for s in flow.states if s in form.getlist("from")]
    if not sources:
        errors["from"] = "pick at least one state"
    elif tuple(sources) != seen.sources:
        ops.append(
            _set((*here, "from"), sources if seen.from_is_list or len(sources) > 1 else sources[0])
        )
    target = form.get("to", seen.target)
    if target != seen.target:
        ops.append(_set((*here, "to"), target))
    roles = form.getlist("roles")
    if tuple(roles) != seen.roles and set(roles) != set(seen.roles):
        ops.append(_set((*here, "roles"), roles))
    when = form.get("when", "").strip()
    if when != str(spec.get("when") or ""):
        ops.append(_set((*here, "when"), when) if when else _delete((*here, "when")))
    _label_ops(here, spec.get("label"), locales, form, ops)  # type: ignore[arg-type]
    extras = extras_form(schema, spec, seen.index).parse(form)
    errors.update(extras.errors)
    for path, value in extras.changes:
        ops.append(_delete((*here, *path)) if value is UNSET else _set((*here, *path), value))
    return Made(tuple(ops), errors)


def timer_edit(
    schema: Mapping[str, Any],
    flow: Workflow,
    index: int,
    spec: Mapping[str, Any],
    form: MultiDict[str, str],
) -> Made:
    """Operations that make timer `index` what its posted generated form says."""
    parsed = timer_form(schema, flow, spec, index).parse(form)
    here = flow_path(flow.name, "timers", index)
    ops = [
        _delete((*here, *path)) if value is UNSET else _set((*here, *path), value)
        for path, value in parsed.changes
    ]
    return Made(tuple(ops), parsed.errors)

"""The workflows editor: `…/d/<draft>/workflows/` and `…/workflows/<workflow>`.

The list adds a workflow bound to an entity's choice field. A workflow's page edits its
states (the field's options: add, rename — every transition, timer and the initial state
follow, and a state the live version has gets `renamed_from` so its records move on publish —
and remove), its transitions (states, roles, label per locale, `when` checked as
you type by `…/workflows/<workflow>/check-expression`, the same checker as validate, and the
other keys — approvals, actions, required fields, comment — as generated forms) and its
timers. The diagram above the table is drawn by Graphviz from the same reading of the YAML
as the table (`workflow_diagram`), so the two cannot drift. Saved through `builder.editing`.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, g, render_template, request
from werkzeug.wrappers import Response

from portalis.engine.definition.fieldtypes import ChoiceConfig
from portalis.engine.problems import PortalisError
from portalis.runtime.context import state
from portalis.runtime.templating import gettext as _

from ..editing import (
    DraftContext,
    Operation,
    base_definition,
    definition,
    edit_failed,
    editor_url,
    open_draft,
    problems_under,
    run_edit,
    saved_message,
)
from ..rights import EDIT
from .check_reply import check_reply
from .fields import NAME_PATTERN, check_at, label_values
from .workflow_diagram import diagram
from .workflow_edits import (
    add_state,
    extras_form,
    flow_path,
    remove_state,
    rename_state,
    timer_edit,
    timer_form,
    transition_edit,
)
from .workflow_model import Workflow, choice_fields, text_of, workflows_of

_NAME = re.compile(NAME_PATTERN)
_STATE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .-]{0,59}$")
_PREFIX = "/p/<slug>/d/<int:draft>/workflows"
_EDITOR = "workflows"


def register(bp: Blueprint) -> None:
    """Add the workflows editor's routes to the builder blueprint."""
    bp.add_url_rule(f"{_PREFIX}/", "workflows", workflows_view, methods=["GET", "POST"])
    bp.add_url_rule(f"{_PREFIX}/<workflow>", "workflow", workflow_view, methods=["GET", "POST"])
    bp.add_url_rule(
        f"{_PREFIX}/<workflow>/check-expression",
        "workflow_check_expression",
        check_expression_view,
    )


def _locales(ctx: DraftContext) -> tuple[str, ...]:
    return tuple(str(loc) for loc in definition(ctx).get("locales") or ["en"])


def _refused(ctx: DraftContext, message: str, back: str) -> Response:
    return edit_failed(ctx, PortalisError(message), back)


def workflows_view(slug: str, draft: int) -> Response | str:
    """The draft's workflows, and the form that adds one."""
    ctx = open_draft(slug, draft)
    here = editor_url("builder.workflows", ctx)
    data = definition(ctx)
    flows = workflows_of(data)
    if request.method == "POST":
        ctx = open_draft(slug, draft, EDIT)
        return _add_workflow(ctx, data, flows, here)
    return render_template(
        "builder/editors/workflows.html",
        ctx=ctx,
        flows=flows,
        bindings=choice_fields(data),
        roles=_roles(data),
        problems=problems_under(ctx, ("workflows",)),
        message=saved_message(),
        title=_("Workflows"),
    )


def _add_workflow(
    ctx: DraftContext, data: dict[str, Any], flows: dict[str, Workflow], here: str
) -> Response | str:
    name = request.form.get("name", "").strip()
    if not _NAME.match(name) or name in flows:
        return _refused(
            ctx, _("%(name)s is not a new workflow name (a-z, 0-9, _).", name=name), here
        )
    entity, _dot, field = request.form.get("binding", "").partition(".")
    if (entity, field) not in choice_fields(data):
        return _refused(ctx, _("Pick a choice field to hold the state."), here)
    states = workflows_of({**data, "workflows": {name: {"entity": entity, "field": field}}})[
        name
    ].states
    if len(states) < 2:
        return _refused(ctx, _("The field needs at least two options: one per state."), here)
    roles = [r for r in _roles(data) if r in request.form.getlist("roles")]
    if not roles:
        return _refused(ctx, _("Pick the roles that take the first transition."), here)
    first = {"name": f"to_{states[1]}", "from": states[0], "to": states[1], "roles": roles}
    value = {"entity": entity, "field": field, "initial": states[0], "transitions": [first]}
    target = f"workflows/{name}.yaml" if _keeps_files(ctx) else None
    ops: list[Operation] = [lambda edit: edit.set(flow_path(name), value, file=target)]
    done = editor_url("builder.workflow", ctx, workflow=name)
    return run_edit(ctx, ops, editor=_EDITOR, what=f"add workflow {name}", done=done)


def _roles(data: dict[str, Any]) -> list[str]:
    return sorted(str(r) for r in data.get("roles") or {})


def _keeps_files(ctx: DraftContext) -> bool:
    """True when the bundle keeps workflows in files of their own under `workflows/`."""
    return any(path.startswith("workflows/") for path in ctx.bundle.files)


def workflow_view(slug: str, draft: int, workflow: str) -> Response | str:
    """One workflow: diagram, states, transitions and timers; POSTed actions change them."""
    ctx = open_draft(slug, draft)
    flow = workflows_of(definition(ctx)).get(workflow)
    if flow is None:
        abort(404)
    if request.method == "POST":
        return _post(open_draft(slug, draft, EDIT), flow)
    return _page(ctx, flow)


def _page(ctx: DraftContext, flow: Workflow, errors: dict[int, Any] | None = None) -> str:
    schema = state().checker.schema
    locales = _locales(ctx)
    ui = str(getattr(g, "locale", "") or "")
    locale = ui if ui in locales else locales[0]  # the diagram speaks the builder's language
    data = definition(ctx)
    transitions = []
    for t in flow.transitions:
        extras = extras_form(schema, t.spec, t.index)
        mine = (errors or {}).get(t.index)
        if mine is not None:
            extras.parse(request.form)  # show the posted values and their errors
        transitions.append(
            {
                "t": t,
                "labels": label_values(t.label, locales),
                "extras": extras,
                "errors": mine or {},
            }
        )
    timers = [(timer, timer_form(schema, flow, timer.spec, timer.index)) for timer in flow.timers]
    roles = sorted(set(_roles(data)) | {r for t in flow.transitions for r in t.roles})
    return render_template(
        "builder/editors/workflow.html",
        ctx=ctx,
        flow=flow,
        transitions=transitions,
        timers=timers,
        roles=roles,
        locales=locales,
        label_text=lambda label, fallback: text_of(label, locale, fallback),
        picture=diagram((ctx.draft_id, ctx.revision), flow, locale),
        problems=problems_under(ctx, ("workflows", flow.name)),
        message=saved_message(),
        title=_("Workflow %(name)s", name=flow.name),
    )


def _post(ctx: DraftContext, flow: Workflow) -> Response | str:
    action = request.form.get("action", "")
    page = editor_url("builder.workflow", ctx, workflow=flow.name)
    state_name = request.form.get("state", "")
    if action in ("rename_state", "remove_state") and state_name not in flow.states:
        return _refused(ctx, _("The workflow has no state %(name)s.", name=state_name), page)
    if action == "add_state":
        value = request.form.get("value", "").strip()
        if not _STATE.match(value) or value in flow.states:
            return _refused(ctx, _("%(name)s is not a new state.", name=value), page)
        label = request.form.get("label", "").strip() or value.replace("_", " ").capitalize()
        ops = add_state(flow, value, label, _locales(ctx)[0])
        return _save(ctx, ops, f"add state {value} to {flow.name}", f"{page}#states")
    if action == "rename_state":
        new = request.form.get("new_name", "").strip()
        if not _STATE.match(new) or new in flow.states:
            return _refused(ctx, _("%(name)s is not a new state.", name=new), page)
        entity = (definition(ctx).get("entities") or {}).get(flow.entity) or {}
        field = (entity.get("fields") or {}).get(flow.field) or {}
        ops = rename_state(flow, field, state_name, new, _live_states(ctx, flow))
        return _save(
            ctx, ops, f"rename state {state_name} of {flow.name} to {new}", f"{page}#states"
        )
    if action == "remove_state":
        used = flow.uses(state_name)
        if used:
            return _refused(
                ctx,
                _(
                    "State %(name)s is still used by: %(uses)s. Change those first.",
                    name=state_name,
                    uses=", ".join(used),
                ),
                page,
            )
        return _save(
            ctx,
            remove_state(flow, state_name),
            f"remove state {state_name} of {flow.name}",
            f"{page}#states",
        )
    if action in ("save_transition", "remove_transition"):
        return _transition(ctx, flow, action, page)
    if action == "add_transition":
        return _add_transition(ctx, flow, page)
    if action in ("save_timer", "remove_timer", "add_timer"):
        return _timer(ctx, flow, action, page)
    if action == "remove_workflow":
        gone: list[Operation] = [lambda edit: edit.delete(flow_path(flow.name))]
        return _save(
            ctx, gone, f"remove workflow {flow.name}", editor_url("builder.workflows", ctx)
        )
    return _refused(ctx, _("Unknown action."), page)


def _live_states(ctx: DraftContext, flow: Workflow) -> frozenset[str]:
    """The states the live version's field of `flow` offers (none without a live version)."""
    live = state().registry.get(ctx.slug)
    entity = live.compiled.model.entities.get(flow.entity) if live is not None else None
    field = entity.fields.get(flow.field) if entity is not None else None
    config = field.config if field is not None else None
    return config.values if isinstance(config, ChoiceConfig) else frozenset()


def _save(ctx: DraftContext, ops: list[Operation], what: str, done: str) -> Response | str:
    return run_edit(ctx, ops, editor=_EDITOR, what=what, done=done)


def _index(raw: str, size: int) -> int | None:
    return int(raw) if raw.isdigit() and int(raw) < size else None


def _transition(ctx: DraftContext, flow: Workflow, action: str, page: str) -> Response | str:
    index = _index(request.form.get("index", ""), len(flow.transitions))
    if index is None:
        return _refused(ctx, _("The workflow has no such transition."), page)
    t = flow.transitions[index]
    if action == "remove_transition":
        ops: list[Operation] = [
            lambda edit: edit.delete(flow_path(flow.name, "transitions", index))
        ]
        return _save(ctx, ops, f"remove transition {t.name} of {flow.name}", f"{page}#transitions")
    shown = workflows_of(base_definition(ctx)).get(flow.name)
    seen = shown.transitions[index] if shown and index < len(shown.transitions) else t
    made = transition_edit(state().checker.schema, flow, seen, _locales(ctx), request.form)
    if made.errors:
        return Response(_page(ctx, flow, {index: dict(made.errors)}), 422, mimetype="text/html")
    name = request.form.get("name", t.name).strip() or t.name
    return _save(
        ctx, list(made.operations), f"transition {flow.name}.{t.name}", f"{page}#transition-{name}"
    )


def _add_transition(ctx: DraftContext, flow: Workflow, page: str) -> Response | str:
    name = request.form.get("name", "").strip()
    source, target = request.form.get("from", ""), request.form.get("to", "")
    if not _NAME.match(name) or name in {t.name for t in flow.transitions}:
        return _refused(
            ctx, _("%(name)s is not a new transition name (a-z, 0-9, _).", name=name), page
        )
    if source not in flow.states or target not in flow.states:
        return _refused(ctx, _("Pick the states the transition goes from and to."), page)
    value: dict[str, Any] = {"name": name, "from": source, "to": target}
    value["roles"] = request.form.getlist("roles")
    label = request.form.get("label", "").strip()
    if label:
        value["label"] = {_locales(ctx)[0]: label}
    ops: list[Operation] = [lambda edit: edit.append(flow_path(flow.name, "transitions"), value)]
    return _save(ctx, ops, f"add transition {name} to {flow.name}", f"{page}#transition-{name}")


def _timer(ctx: DraftContext, flow: Workflow, action: str, page: str) -> Response | str:
    done = f"{page}#timers"
    if action == "add_timer":
        wanted, after = request.form.get("state", ""), request.form.get("after", "").strip()
        if wanted not in flow.states or not after:
            return _refused(ctx, _("Pick a state and how long after it the timer fires."), page)
        value = {"state": wanted, "after": after}
        if flow.timers:
            ops: list[Operation] = [lambda edit: edit.append(flow_path(flow.name, "timers"), value)]
        else:
            ops = [lambda edit: edit.set(flow_path(flow.name, "timers"), [value])]
        return _save(ctx, ops, f"add timer to {flow.name}", done)
    index = _index(request.form.get("index", ""), len(flow.timers))
    if index is None:
        return _refused(ctx, _("The workflow has no such timer."), page)
    if action == "remove_timer":
        ops = [lambda edit: edit.delete(flow_path(flow.name, "timers", index))]
        return _save(ctx, ops, f"remove timer {index + 1} of {flow.name}", done)
    shown = workflows_of(base_definition(ctx)).get(flow.name)
    seen = shown.timers[index] if shown and index < len(shown.timers) else flow.timers[index]
    made = timer_edit(state().checker.schema, flow, index, seen.spec, request.form)
    if made.errors:
        return _refused(ctx, "; ".join(f"{k}: {v}" for k, v in made.errors.items()), page)
    return _save(ctx, list(made.operations), f"timer {index + 1} of {flow.name}", done)


def check_expression_view(slug: str, draft: int, workflow: str) -> Response:
    """JSON: the problems of `expr` as the `when` of transition `field` (its name), as
    validate would report them; nothing is saved."""
    ctx = open_draft(slug, draft)
    flow = workflows_of(definition(ctx)).get(workflow)
    names = {t.name: t.index for t in flow.transitions} if flow else {}
    field, key = request.args.get("field", ""), request.args.get("key", "")
    if flow is None or field not in names or key != "when":
        abort(404)
    st = state()
    path = flow_path(workflow, "transitions", names[field], "when")
    found = check_at(st.checker, ctx.bundle, path, request.args.get("expr", ""), st.settings.env)
    return check_reply(found)

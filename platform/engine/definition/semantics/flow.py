"""Semantic checks of the living parts of a definition: transition extras, timers, actions,
automations and notifications (after the schema pass, before compiling).

Actions are checked against the *site* they run at: a transition or timer always has a record
and an acting user; an `on: delete` automation has a record that can no longer be changed; a
schedule has nobody acting, and without `entity:` not even a record.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from ...problems import JsonPath, Severity
from ..model import SYSTEM_COLUMNS
from .base import Ctx, check_role_refs, suggest
from .derived import is_derived, literal_problem
from .notify import (
    check_cron,
    check_notifications,
    check_recipient,
    check_webhook_url,
    is_user_ref,
)
from .timer_moments import check_moment, timer_name


@dataclass(frozen=True, slots=True)
class Site:
    """Where an action list runs: `entity` is the record's (None: there is no record)."""

    entity: str | None
    what: str
    settable: bool = True
    actor: bool = True
    update: bool = False
    no_set: str = ""
    automation: bool = False


@dataclass(slots=True)
class Workflow:
    """What the checks need of a workflow whose entity and state field are valid."""

    entity: str
    field: str
    states: list[str]
    sources: dict[str, list[str]]


@dataclass(slots=True)
class FlowChecker:
    """One pass over workflows, automations and notifications; `sent` collects, per
    notification, where actions send it (entity, path of the action)."""

    ctx: Ctx
    workflows: dict[str, Workflow] = field(default_factory=dict)
    sent: dict[str, list[tuple[str | None, JsonPath]]] = field(default_factory=dict)

    def run(self) -> None:
        """Check everything, then the notifications (which need to know who sends them)."""
        self.workflows = valid_workflows(self.ctx)
        for name, wf in self.workflows.items():
            self.workflow(name, self.ctx.data["workflows"][name], wf)
        for name, spec in (self.ctx.data.get("automations") or {}).items():
            self.automation(name, spec)
        check_notifications(self.ctx, self.sent)

    def state_fields(self, entity: str) -> set[str]:
        """The fields of `entity` that hold a workflow state."""
        return {wf.field for wf in self.workflows.values() if wf.entity == entity}

    # -- workflows ----------------------------------------------------------------------
    def workflow(self, name: str, spec: dict[str, Any], wf: Workflow) -> None:
        """Transition extras and timers of one workflow."""
        base: JsonPath = ("workflows", name)
        fields = self.ctx.fields_of(wf.entity)
        for i, tr in enumerate(spec.get("transitions") or []):
            tpath: JsonPath = (*base, "transitions", i)
            assignee = tr.get("assignee_field")
            if assignee is not None and not is_user_ref(fields.get(assignee)):
                users = [n for n, f in fields.items() if is_user_ref(f)]
                self.ctx.add(
                    "workflow-assignee",
                    f"assignee_field {assignee!r} is not a ref to user of {wf.entity}",
                    (*tpath, "assignee_field"),
                    suggest(assignee, users) if users else "add a field {type: ref, to: user}",
                )
            approvals = tr.get("approvals") or {}
            check_role_refs(self.ctx, approvals.get("roles") or [], (*tpath, "approvals", "roles"))
            site = Site(wf.entity, f"transition {tr['name']!r}")
            self.actions(tr.get("actions"), (*tpath, "actions"), site)
        names: dict[str, int] = {}
        for i, timer in enumerate(spec.get("timers") or []):
            self.timer(wf, timer, (*base, "timers", i), names, i)

    def timer(
        self, wf: Workflow, spec: dict[str, Any], path: JsonPath, names: dict[str, int], i: int
    ) -> None:
        """State, transition or actions, and name of one timer."""
        state = spec["state"]
        if state not in wf.states:
            self.ctx.add(
                "ref-unknown-workflow-state",
                f"unknown state {state!r}",
                (*path, "state"),
                suggest(state, wf.states),
            )
        name = spec.get("name") or timer_name(spec)
        check_moment(self.ctx, wf.entity, spec, path)
        if name in names:
            where = (*path, "name") if "name" in spec else path
            self.ctx.add(
                "timer-duplicate",
                f"timer {name!r} is also timer #{names[name] + 1} of this workflow",
                where,
                "give each timer its own name:",
            )
        names.setdefault(name, i)
        if ("transition" in spec) == ("actions" in spec):
            self.ctx.add(
                "timer-action",
                "a timer takes a transition or runs actions: give exactly one of the two",
                path,
                "transition: <name> moves the record on; actions: [...] leaves it where it is",
            )
        transition = spec.get("transition")
        if transition is not None:
            self.timer_transition(wf, state, transition, (*path, "transition"))
        site = Site(wf.entity, f"timer {name!r}", actor=False)  # the system acts, nobody else
        self.actions(spec.get("actions"), (*path, "actions"), site)

    def timer_transition(self, wf: Workflow, state: str, name: str, path: JsonPath) -> None:
        """The transition exists and can start from the timer's state."""
        if name not in wf.sources:
            self.ctx.add(
                "timer-transition",
                f"the workflow has no transition {name!r}",
                path,
                suggest(name, wf.sources),
            )
        elif state in wf.states and state not in wf.sources[name]:
            possible = [t for t, sources in wf.sources.items() if state in sources]
            self.ctx.add(
                "timer-transition",
                f"transition {name!r} cannot start from {state!r} "
                f"(it starts from {', '.join(wf.sources[name])})",
                path,
                f"from {state!r}: {', '.join(possible)}" if possible else "",
            )

    # -- automations --------------------------------------------------------------------
    def automation(self, name: str, spec: dict[str, Any]) -> None:
        """Entity, trigger, schedule, expressions and actions of one automation."""
        base: JsonPath = ("automations", name)
        on = spec["on"]
        scheduled = isinstance(on, dict)
        entity = spec.get("entity")
        if entity is None and not scheduled:
            self.ctx.add(
                "automation-entity",
                f"an automation on {on} needs entity:",
                (*base, "on"),
                "name the entity whose records trigger it",
            )
            return
        if entity is not None and entity not in self.ctx.entities:
            self.ctx.add(
                "ref-unknown-entity",
                f"unknown entity {entity!r}",
                (*base, "entity"),
                suggest(str(entity), self.ctx.entities),
            )
            return
        if scheduled:
            check_cron(self.ctx, str(on["schedule"]), (*base, "on", "schedule"))
            site = Site(
                entity,
                f"scheduled automation {name!r}",
                settable=entity is not None,
                actor=False,
                no_set="it has no entity:, so there is no record to change",
                automation=True,
            )
        else:
            if on.startswith("transition:"):
                self.trigger_transition(str(entity), on.partition(":")[2], (*base, "on"))
            site = Site(
                entity,
                f"automation {name!r}",
                settable=on != "delete",
                update=on == "update",
                no_set="it runs after the record was deleted",
                automation=True,
            )
        self.expression(spec.get("when"), (*base, "when"), site)
        self.actions(spec.get("actions"), (*base, "actions"), site)

    def trigger_transition(self, entity: str, name: str, path: JsonPath) -> None:
        """`on: transition:<name>` names a transition of a workflow of the entity."""
        known = [t for wf in self.workflows.values() if wf.entity == entity for t in wf.sources]
        declared = [
            n
            for n, w in (self.ctx.data.get("workflows") or {}).items()
            if w.get("entity") == entity
        ]
        if name in known or any(n not in self.workflows for n in declared):
            return  # found, or a workflow of the entity is broken (reported by its own check)
        has_workflow = bool(declared)
        self.ctx.add(
            "automation-transition",
            f"no workflow of {entity} has a transition {name!r}"
            if has_workflow
            else f"{entity} has no workflow, so there is no transition {name!r}",
            path,
            suggest(name, known) if known else "use on: create, update or delete",
        )

    def expression(self, source: Any, path: JsonPath, site: Site) -> None:
        """Names an automation's expression uses that its site does not offer."""
        if not isinstance(source, str) or not site.automation:
            return
        names = expression_names(source)
        if "before" in names and not site.update:
            self.ctx.add(
                "automation-before",
                f"before is always None in {site.what}: only on: update sees the old record",
                path,
                "use on: update, or compare with record only",
                severity=Severity.WARNING,
            )
        if "record" in names and site.entity is None:
            self.ctx.add(
                "automation-no-record",
                f"{site.what} has no entity:, so record is None",
                path,
                "add entity: to run once per record",
            )

    # -- actions ------------------------------------------------------------------------
    def actions(self, raw: Any, path: JsonPath, site: Site) -> None:
        """Every action of a list."""
        for i, action in enumerate(raw or []):
            kind, options = next(iter(action.items()))
            apath: JsonPath = (*path, i, kind)
            if kind == "set":
                self.set_action(options, apath, site)
            elif kind == "create":
                self.create_action(options, apath, site)
            elif kind == "notify":
                self.notify_action(options, apath, site)
            elif kind == "webhook":
                check_webhook_url(self.ctx, str(options["url"]), (*apath, "url"))
            elif kind == "transition":
                self.transition_action(str(options), apath, site)

    def transition_action(self, name: str, path: JsonPath, site: Site) -> None:
        """Only automations with a record they may change take transitions, and only the
        transitions of the record's workflows."""
        if not site.automation:
            self.ctx.add(
                "action-transition-site",
                f"{site.what} cannot take a transition as an action",
                path,
                "a timer takes one with transition: <name>; an automation on:"
                " transition:<name> can take the next one",
            )
            return
        if not site.settable or site.entity is None:
            self.ctx.add(
                "automation-no-record",
                f"transition cannot run in {site.what}: {site.no_set}",
                path,
                "use on: create, update, transition:<name>, or a schedule over an entity",
            )
            return
        known = [
            t for wf in self.workflows.values() if wf.entity == site.entity for t in wf.sources
        ]
        if name not in known:
            self.ctx.add(
                "action-transition",
                f"no workflow of {site.entity} has a transition {name!r}",
                path,
                suggest(name, known) if known else f"declare a workflow over {site.entity}",
            )

    def set_action(self, values: dict[str, Any], path: JsonPath, site: Site) -> None:
        """`set` needs a record it may change, and fields that may be written."""
        if not site.settable or site.entity is None:
            self.ctx.add(
                "automation-no-record",
                f"set cannot run in {site.what}: {site.no_set}",
                path,
                "use create: to record something, or another trigger",
            )
            return
        for fname, value in values.items():
            self.value(site.entity, fname, value, (*path, fname), site, creating=False)

    def create_action(self, options: dict[str, Any], path: JsonPath, site: Site) -> None:
        """The target entity exists, values are writable fields, required fields are given."""
        target = options["entity"]
        if target not in self.ctx.entities:
            self.ctx.add(
                "ref-unknown-entity",
                f"unknown entity {target!r}",
                (*path, "entity"),
                suggest(target, self.ctx.entities),
            )
            return
        values = options.get("values") or {}
        for fname, value in values.items():
            self.value(target, fname, value, (*path, "values", fname), site, creating=True)
        states = self.state_fields(target)
        missing = [
            n
            for n, f in self.ctx.fields_of(target).items()
            if f.get("required") is True
            and n not in values
            and f.get("default") is None
            and not is_derived(f)
            and n not in states
        ]
        if missing:
            self.ctx.add(
                "action-create-required",
                f"the new {target} gets no value for required "
                + ", ".join(repr(n) for n in missing),
                (*path, "values"),
                "the action fails at run time unless values: sets "
                + ("it" if len(missing) == 1 else "them"),
                severity=Severity.WARNING,
            )

    def value(
        self, entity: str, fname: str, value: Any, path: JsonPath, site: Site, *, creating: bool
    ) -> None:
        """One field → value pair of a set or create action."""
        fields = self.ctx.fields_of(entity)
        if fname in SYSTEM_COLUMNS or fname not in fields:
            why = (
                f"{fname!r} is a system column and cannot be written"
                if fname in SYSTEM_COLUMNS
                else f"{entity} has no field {fname!r}"
            )
            self.ctx.add("ref-unknown-field", why, path, suggest(fname, fields), key=True)
            return
        spec = fields[fname]
        if fname in self.state_fields(entity):
            self.ctx.add(
                "action-field-state",
                f"{entity}.{fname} holds a workflow state; actions cannot write it",
                path,
                "new records start in the initial state"
                if creating
                else "states change only through transitions (a timer can take one)",
                key=True,
            )
        elif is_derived(spec):
            self.ctx.add(
                "action-field-derived",
                f"{entity}.{fname} is computed; its value cannot be written",
                path,
                "write the fields it is computed from",
                key=True,
            )
        elif getattr(self.ctx.registry.get(str(spec.get("type"))), "assigned", False):
            self.ctx.add(
                "action-field-derived",
                f"{entity}.{fname} is numbered when a record is created; it cannot be written",
                path,
                "remove it from the action's values",
                key=True,
            )
        elif isinstance(value, dict):
            self.expression(value.get("expr"), (*path, "expr"), site)
        elif (error := literal_problem(self.ctx, fname, spec, value)) is not None:
            self.ctx.add(
                "action-value", f"{value!r} is not a valid {entity}.{fname}: {error}", path
            )

    def notify_action(self, options: dict[str, Any], path: JsonPath, site: Site) -> None:
        """The template exists; every recipient can be found at this site."""
        template = options["template"]
        notifications = self.ctx.data.get("notifications") or {}
        if template not in notifications:
            self.ctx.add(
                "ref-unknown-notification",
                f"unknown notification {template!r}",
                (*path, "template"),
                suggest(template, notifications) or "declare it under notifications:",
            )
        else:
            self.sent.setdefault(template, []).append((site.entity, path))
        for j, recipient in enumerate(options["to"]):
            check_recipient(
                self.ctx,
                str(recipient),
                (*path, "to", j),
                entity=site.entity,
                what=site.what,
                actor=site.actor,
            )


def expression_names(source: str) -> set[str]:
    """The names an expression reads (empty when it does not parse: compiling reports that)."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def valid_workflows(ctx: Ctx) -> dict[str, Workflow]:
    """Workflows whose entity and state field are valid (`check_workflows` reports the rest)."""
    out: dict[str, Workflow] = {}
    for name, spec in (ctx.data.get("workflows") or {}).items():
        entity = spec.get("entity")
        fspec = ctx.fields_of(str(entity)).get(spec.get("field"))
        if entity not in ctx.entities or not isinstance(fspec, dict):
            continue
        if fspec.get("type") != "choice":
            continue
        states = [
            o if isinstance(o, str) else str(o.get("value")) for o in fspec.get("options") or []
        ]
        sources: dict[str, list[str]] = {}
        for tr in spec.get("transitions") or []:
            raw = tr["from"] if isinstance(tr["from"], list) else [tr["from"]]
            sources.setdefault(tr["name"], [str(s) for s in raw])
        out[name] = Workflow(str(entity), str(spec["field"]), states, sources)
    return out


def check_flow(ctx: Ctx) -> None:
    """Transition extras, timers, automations, their actions, and notifications."""
    FlowChecker(ctx).run()

"""Semantic checks of the living parts of a definition: transition extras, timers, actions,
automations and notifications (after the schema pass, before compiling).

The actions themselves and automation expressions are checked by `flow_actions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...problems import JsonPath
from .base import Ctx, check_role_refs, suggest
from .flow_actions import ActionChecker, Site, Workflow, expression_names
from .notify import (
    check_cron,
    check_notifications,
    is_user_ref,
)
from .timer_moments import check_moment, timer_name

__all__ = ["FlowChecker", "Site", "Workflow", "check_flow", "expression_names", "valid_workflows"]


@dataclass(slots=True)
class FlowChecker(ActionChecker):
    """One pass over workflows, automations and notifications."""

    def run(self) -> None:
        """Check everything, then the notifications (which need to know who sends them)."""
        self.workflows = valid_workflows(self.ctx)
        for name, wf in self.workflows.items():
            self.workflow(name, self.ctx.data["workflows"][name], wf)
        for name, spec in (self.ctx.data.get("automations") or {}).items():
            self.automation(name, spec)
        check_notifications(self.ctx, self.sent)

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

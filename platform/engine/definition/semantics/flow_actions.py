"""Semantic checks of workflow actions (`set`, `create`, `notify`, `webhook`,
`transition`) against the site they run at, and of the expressions automations evaluate there.

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
from .base import Ctx, suggest
from .derived import is_derived, literal_problem
from .notify import (
    check_recipient,
    check_webhook_url,
)


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
class ActionChecker:
    """Checks action lists and automation expressions; `sent` collects, per notification,
    where actions send it (entity, path of the action)."""

    ctx: Ctx
    workflows: dict[str, Workflow] = field(default_factory=dict)
    sent: dict[str, list[tuple[str | None, JsonPath]]] = field(default_factory=dict)

    def state_fields(self, entity: str) -> set[str]:
        """The fields of `entity` that hold a workflow state."""
        return {wf.field for wf in self.workflows.values() if wf.entity == entity}

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

"""Compiling the living parts of a definition: actions, transitions, timers, automations,
notification templates and rollups (the compiler proper handles entities, pages and auth)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..expr.expressions import Expression
from ..expr.textmpl import TemplateProblem, compile_text
from ..problems import JsonPath
from .flow_model import (
    Action,
    Approvals,
    Automation,
    CopyChild,
    CopySpec,
    NotificationTemplate,
    Timer,
    Transition,
)
from .model import Rollup
from .semantics.base import Ctx
from .semantics.copying import child_ref
from .semantics.timer_moments import timer_name
from .values import Label, Value, frozen_map

#: (source, path, entity, names) → compiled expression, or None (a problem was recorded)
CompileExpression = Callable[[str | None, JsonPath, str | None, Iterable[str]], Expression | None]

#: Names the expressions of automations see (`before`: the record before an update).
AUTOMATION_NAMES = ("record", "actor", "before")
_DURATION = re.compile(r"([0-9]+)([mhdw])")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(text: str) -> int:
    """`4h` → 14400, `1d12h` → 129600 (the schema has checked the syntax)."""
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION.findall(text))


def humanize(name: str) -> str:
    """`due_date` → `Due date`."""
    return name.replace("_", " ").capitalize()


class FlowCompiler:
    """Compiles workflow extras, automations and notifications with the caller's expression
    compiler (which records problems with file positions)."""

    def __init__(self, ctx: Ctx, expression: CompileExpression) -> None:
        self.ctx = ctx
        self.expression = expression

    # -- values and actions -------------------------------------------------------------
    def value(self, raw: Any, path: JsonPath, entity: str | None, names: Iterable[str]) -> Value:
        """A literal, or `{expr: ...}` compiled."""
        if isinstance(raw, dict) and set(raw) == {"expr"}:
            source = str(raw["expr"])
            return Value(
                expr=self.expression(source, (*path, "expr"), entity, names), source=source
            )
        return Value(literal=raw)

    def actions(
        self,
        raw: Iterable[Mapping[str, Any]] | None,
        path: JsonPath,
        entity: str | None,
        names: Iterable[str] = ("record", "actor"),
    ) -> tuple[Action, ...]:
        """Compile an action list."""
        names = tuple(names)
        out: list[Action] = []
        for i, spec in enumerate(raw or ()):
            kind, options = next(iter(spec.items()))
            where: JsonPath = (*path, i, kind)
            if kind == "set":
                values = {k: self.value(v, (*where, k), entity, names) for k, v in options.items()}
                out.append(Action("set", frozen_map(values)))
            elif kind == "create":
                target = options["entity"]
                values = {
                    k: self.value(v, (*where, "values", k), entity, names)
                    for k, v in (options.get("values") or {}).items()
                }
                out.append(Action("create", frozen_map(values), entity=target))
            elif kind == "notify":
                out.append(Action("notify", template=options["template"], to=tuple(options["to"])))
            elif kind == "transition":
                out.append(Action("transition", transition=str(options)))
            else:
                out.append(
                    Action(
                        "webhook",
                        url=options["url"],
                        secret=options.get("secret"),
                        event=options.get("event"),
                    )
                )
        return tuple(out)

    # -- workflows ----------------------------------------------------------------------
    def transition(
        self, workflow: str, index: int, spec: Mapping[str, Any], entity: str
    ) -> Transition:
        """One transition with its approvals, comment mode and actions."""
        path: JsonPath = ("workflows", workflow, "transitions", index)
        when = self.expression(spec.get("when"), (*path, "when"), entity, ("record", "actor"))
        sources = spec["from"] if isinstance(spec["from"], list) else [spec["from"]]
        roles = frozenset(spec["roles"])
        approvals = None
        if "approvals" in spec:
            raw = spec["approvals"]
            approvals = Approvals(frozenset(raw.get("roles") or roles), int(raw["count"]))
        return Transition(
            name=spec["name"],
            label=Label.of(spec.get("label"), humanize(spec["name"])),
            sources=frozenset(sources),
            target=spec["to"],
            roles=roles,
            when=when,
            when_source=spec.get("when"),
            require=tuple(spec.get("require") or ()),
            comment=spec.get("comment", "optional"),
            allow_self_approval=bool(spec.get("allow_self_approval", True)),
            assignee_field=spec.get("assignee_field"),
            approvals=approvals,
            actions=self.actions(spec.get("actions"), (*path, "actions"), entity),
        )

    def timers(self, workflow: str, spec: Mapping[str, Any], entity: str) -> tuple[Timer, ...]:
        """The timers of a workflow (named `<state>_<after>` unless named)."""
        out = []
        for i, raw in enumerate(spec.get("timers") or ()):
            path: JsonPath = ("workflows", workflow, "timers", i)
            out.append(
                Timer(
                    name=raw.get("name") or timer_name(raw),
                    state=raw["state"],
                    after=raw.get("after", ""),
                    after_seconds=duration_seconds(raw.get("after", "")),
                    of=raw.get("of"),
                    before=raw.get("before", ""),
                    before_seconds=duration_seconds(raw.get("before", "")),
                    when=self.expression(
                        raw.get("when"), (*path, "when"), entity, ("record", "actor")
                    ),
                    when_source=raw.get("when"),
                    transition=raw.get("transition"),
                    actions=self.actions(raw.get("actions"), (*path, "actions"), entity),
                )
            )
        return tuple(out)

    # -- automations --------------------------------------------------------------------
    def automations(self) -> dict[str, Automation]:
        """Every automation of the definition."""
        out: dict[str, Automation] = {}
        for name, spec in (self.ctx.data.get("automations") or {}).items():
            path: JsonPath = ("automations", name)
            entity = spec.get("entity")
            on = spec["on"]
            transition = cron = None
            if isinstance(on, dict):
                trigger, cron = "schedule", str(on["schedule"])
            elif on.startswith("transition:"):
                trigger, transition = "transition", on.partition(":")[2]
            else:
                trigger = on
            out[name] = Automation(
                name=name,
                label=Label.of(spec.get("label"), humanize(name)),
                trigger=trigger,  # type: ignore[arg-type]  # the schema allows no other
                actions=self.actions(spec["actions"], (*path, "actions"), entity, AUTOMATION_NAMES),
                entity=entity,
                transition=transition,
                cron=cron,
                when=self.expression(spec.get("when"), (*path, "when"), entity, AUTOMATION_NAMES),
                when_source=spec.get("when"),
                enabled=bool(spec.get("enabled", True)),
                limit=int(spec.get("limit", 1000)),
            )
        return out

    # -- notifications ------------------------------------------------------------------
    def notifications(self) -> dict[str, NotificationTemplate]:
        """Every notification template, compiled once per locale."""
        out: dict[str, NotificationTemplate] = {}
        for name, spec in (self.ctx.data.get("notifications") or {}).items():
            path: JsonPath = ("notifications", name)
            out[name] = NotificationTemplate(
                name=name,
                label=Label.of(spec.get("label"), humanize(name)),
                subject=self._templates(spec["subject"], (*path, "subject")),
                body=self._templates(spec["body"], (*path, "body")),
                link=spec.get("link"),
                email=bool(spec.get("email", True)),
                in_app=bool(spec.get("in_app", True)),
                attach=tuple(spec.get("attach") or ()),
            )
        return out

    def _templates(self, raw: str | Mapping[str, str], path: JsonPath) -> Mapping[str, Any]:
        texts = {"*": raw} if isinstance(raw, str) else dict(raw)
        compiled = {}
        for locale, source in texts.items():
            where = path if isinstance(raw, str) else (*path, locale)
            try:
                compiled[locale] = compile_text(source)
            except TemplateProblem as exc:
                line = f" (template line {exc.line})" if exc.line else ""
                self.ctx.add(
                    "template-syntax",
                    f"the template does not compile: {exc}{line}",
                    where,
                    "templates use Jinja syntax: {{ record.subject }}, {% if … %}…{% endif %}",
                )
        return frozen_map(compiled)

    # -- copying ------------------------------------------------------------------------
    def copy_spec(self, entity: str, raw: Mapping[str, Any] | None) -> CopySpec | None:
        """An entity's `copy:` (the checks made sure every child points to the entity)."""
        if raw is None:
            return None
        children = []
        for item in raw.get("children") or ():
            child, via = child_ref(self.ctx, entity, str(item))
            if via is not None:
                children.append(CopyChild(child, via))
        return CopySpec(
            label=Label.of(raw["label"]) if raw.get("label") is not None else None,
            children=tuple(children),
            reset=frozenset(str(r) for r in raw.get("reset") or ()),
        )

    # -- rollups ------------------------------------------------------------------------
    @staticmethod
    def rollup(spec: Mapping[str, Any]) -> Rollup | None:
        """`{rollup: sum, of: invoice_line.amount, via: invoice, where: {...}}` → Rollup."""
        if "rollup" not in spec:
            return None
        entity, _, field = str(spec["of"]).partition(".")
        return Rollup(
            aggregate=spec["rollup"],
            entity=entity,
            via=spec["via"],
            field=field or None,
            where=tuple((spec.get("where") or {}).items()),
        )

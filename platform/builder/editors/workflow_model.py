"""A workflow as the workflows editor reads it from the draft's merged definition: its
states (the options of its choice field), transitions and timers.

One reading serves the states and transitions table, the forms and the diagram, so the three
cannot drift apart. Pure functions of the definition's plain data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Transition:
    """One transition, at `index` in the workflow's `transitions` list."""

    index: int
    name: str
    label: Any
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]
    spec: Mapping[str, Any]

    @property
    def from_is_list(self) -> bool:
        """True when `from` is written as a list (a rename keeps the form it has)."""
        return isinstance(self.spec.get("from"), list)


@dataclass(frozen=True, slots=True)
class Timer:
    """One timer, at `index` in the workflow's `timers` list."""

    index: int
    name: str
    state: str
    spec: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Workflow:
    """A workflow with the states its field offers."""

    name: str
    entity: str
    field: str
    initial: str
    states: tuple[str, ...]
    state_labels: Mapping[str, Any]
    transitions: tuple[Transition, ...]
    timers: tuple[Timer, ...]

    @property
    def option_path(self) -> tuple[str, ...]:
        """The definition path of the state field's options."""
        return ("entities", self.entity, "fields", self.field, "options")

    def uses(self, state: str) -> list[str]:
        """What names `state`: the initial state, transitions and timers (for a removal)."""
        found = ["initial"] if self.initial == state else []
        found += [t.name for t in self.transitions if state in t.sources or t.target == state]
        found += [f"timer {t.name or t.index + 1}" for t in self.timers if t.state == state]
        return found


def workflows_of(data: Mapping[str, Any]) -> dict[str, Workflow]:
    """Every workflow of a merged definition, by name."""
    raw = data.get("workflows") or {}
    if not isinstance(raw, Mapping):
        return {}
    return {str(name): workflow_of(data, str(name), spec) for name, spec in raw.items()}


def workflow_of(data: Mapping[str, Any], name: str, spec: Any) -> Workflow:
    """The workflow `name` (`spec` its plain data) read against the definition's entities."""
    spec = spec if isinstance(spec, Mapping) else {}
    entity, field = str(spec.get("entity", "")), str(spec.get("field", ""))
    options = _options(data, entity, field)
    states = tuple(str(o.get("value")) for o in options if "value" in o)
    labels = {str(o.get("value")): o.get("label") for o in options if "value" in o}
    transitions = []
    for index, item in enumerate(spec.get("transitions") or ()):
        item = item if isinstance(item, Mapping) else {}
        sources = item.get("from", ())
        sources = (sources,) if isinstance(sources, str) else tuple(str(s) for s in sources)
        transitions.append(
            Transition(
                index,
                str(item.get("name", "")),
                item.get("label"),
                sources,
                str(item.get("to", "")),
                tuple(str(r) for r in item.get("roles") or ()),
                item,
            )
        )
    timers = [
        Timer(i, str(t.get("name", "")), str(t.get("state", "")), t)
        for i, t in enumerate(spec.get("timers") or ())
        if isinstance(t, Mapping)
    ]
    return Workflow(
        name,
        entity,
        field,
        str(spec.get("initial", "")),
        states,
        labels,
        tuple(transitions),
        tuple(timers),
    )


def _options(data: Mapping[str, Any], entity: str, field: str) -> list[Mapping[str, Any]]:
    entities = data.get("entities") or {}
    fspec = ((entities.get(entity) or {}).get("fields") or {}).get(field) or {}
    options = fspec.get("options") if isinstance(fspec, Mapping) else None
    return [o for o in options or () if isinstance(o, Mapping)]


def choice_fields(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(entity, field) of every choice field: what a new workflow can be bound to."""
    out = []
    for entity, spec in (data.get("entities") or {}).items():
        for field, fspec in ((spec or {}).get("fields") or {}).items():
            if isinstance(fspec, Mapping) and fspec.get("type") == "choice":
                out.append((str(entity), str(field)))
    return out


def text_of(label: Any, locale: str, fallback: str) -> str:
    """A label's text in `locale` (else its first text, else `fallback`)."""
    if isinstance(label, Mapping):
        text = label.get(locale) or next(iter(label.values()), None)
        return str(text) if text else fallback
    return str(label) if label else fallback

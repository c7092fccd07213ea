"""Semantic checks of workflows: the choice field they run over, states, transitions, roles,
required fields, and that every state can be reached from the initial one."""

from __future__ import annotations

from typing import Any

from ...problems import JsonPath
from .base import Ctx, check_role_refs, suggest


def check_workflows(ctx: Ctx) -> None:
    """Workflow fields, states, transitions and reachability."""
    used: dict[tuple[str, str], str] = {}
    for name, wf in (ctx.data.get("workflows") or {}).items():
        base: JsonPath = ("workflows", name)
        entity = wf.get("entity")
        if entity not in ctx.entities:
            ctx.add(
                "ref-unknown-entity",
                f"unknown entity {entity!r}",
                (*base, "entity"),
                suggest(str(entity), ctx.entities),
            )
            continue
        fname = wf.get("field")
        spec = ctx.fields_of(entity).get(fname)
        if spec is None or spec.get("type") != "choice":
            ctx.add(
                "workflow-field",
                f"workflow field {fname!r} must be a choice field of {entity}",
                (*base, "field"),
                suggest(
                    str(fname),
                    [n for n, f in ctx.fields_of(entity).items() if f.get("type") == "choice"],
                ),
            )
            continue
        if (entity, fname) in used:
            ctx.add(
                "workflow-duplicate",
                f"{entity}.{fname} already has workflow {used[(entity, fname)]!r}",
                base,
                key=True,
            )
        used[(entity, fname)] = name
        states = [
            o if isinstance(o, str) else str(o.get("value")) for o in spec.get("options") or []
        ]
        _check_transitions(ctx, wf, entity, states, base)


def _check_transitions(
    ctx: Ctx, wf: dict[str, Any], entity: str, states: list[str], base: JsonPath
) -> None:
    initial = wf.get("initial")
    if initial not in states:
        ctx.add(
            "ref-unknown-workflow-state",
            f"initial state {initial!r} is not an option of the field",
            (*base, "initial"),
            suggest(str(initial), states),
        )
    names: set[str] = set()
    edges: dict[str, set[str]] = {}
    for i, tr in enumerate(wf.get("transitions") or []):
        tpath: JsonPath = (*base, "transitions", i)
        if tr["name"] in names:
            ctx.add(
                "workflow-duplicate", f"transition {tr['name']!r} appears twice", (*tpath, "name")
            )
        names.add(tr["name"])
        sources = tr["from"] if isinstance(tr["from"], list) else [tr["from"]]
        for j, state in enumerate(sources):
            spath = (*tpath, "from", j) if isinstance(tr["from"], list) else (*tpath, "from")
            if state not in states:
                ctx.add(
                    "ref-unknown-workflow-state",
                    f"unknown state {state!r}",
                    spath,
                    suggest(state, states),
                )
            edges.setdefault(state, set()).add(tr["to"])
        if tr["to"] not in states:
            ctx.add(
                "ref-unknown-workflow-state",
                f"unknown state {tr['to']!r}",
                (*tpath, "to"),
                suggest(tr["to"], states),
            )
        check_role_refs(ctx, tr.get("roles") or [], (*tpath, "roles"))
        for j, req in enumerate(tr.get("require") or []):
            if req not in ctx.fields_of(entity):
                ctx.add(
                    "workflow-require",
                    f"{entity} has no field {req!r}",
                    (*tpath, "require", j),
                    suggest(req, ctx.fields_of(entity)),
                )
    reachable = {initial}
    frontier = [initial]
    while frontier:
        for nxt in edges.get(str(frontier.pop()), set()):
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    for state in states:
        if state not in reachable and initial in states:
            ctx.add(
                "workflow-unreachable",
                f"state {state!r} cannot be reached from {initial!r}",
                (*base, "transitions"),
                "add a transition into this state or remove it from the field's options",
            )

"""The seed plan: every seed file read, checked against the model and put in loading order,
without a database.

`validate` and `deploy --seed` both run it, so they report the same problems: values cleaned by
their field types, unknown fields, entities and roles, references to seed keys and e-mails
(in any file, earlier or later: rows are loaded in dependency order), required fields,
expression defaults, `visible_when`/`required_when`, computed fields and rules. `validate`
finishes the rows with placeholder ids; deploy with the ids of the rows it inserts.

A row that fails is one problem; rows that refer to it (directly or through other rows) are
not checked and not reported again: the first problem of the failing row says how many
rows depend on it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from jsonschema import Draft202012Validator

from ..definition.bundle import Bundle
from ..definition.fields import FieldValueError
from ..definition.loader import SourceMap, match_files
from ..definition.model import PortalModel
from ..definition.schema.check import schema_problems
from ..definition.schema.compose import seed_schema
from ..definition.yamlsource import parse_text
from ..problems import JsonPath, Problem

#: (entity, seed key): accounts and records by `key`, users by lower-case e-mail
RowKey = tuple[str, str]


@dataclass(slots=True)
class SeedRow:
    """One account, user or record of a seed file, on its way to the database."""

    entity: str
    key: str
    given: dict[str, Any]
    path: JsonPath
    source: SourceMap
    #: cleaned values of the fields that are not references
    values: dict[str, Any] = field(default_factory=dict)
    #: reference fields → the (entity, key) they point to
    refs: dict[str, RowKey] = field(default_factory=dict)
    creator: str | None = None
    roles: tuple[str, ...] = ()
    password: str | None = None
    #: a user's further accounts: (account key, roles there)
    memberships: tuple[tuple[str, tuple[str, ...]], ...] = ()
    problems: list[Problem] = field(default_factory=list)
    #: rows not loaded because they depend on this one, which failed
    dependents: int = 0

    @property
    def row_key(self) -> RowKey:
        """The (entity, key) other rows refer to this one by."""
        return (self.entity, self.key)

    def fail(self, message: str, path: JsonPath = (), hint: str = "") -> None:
        """Record a problem at `path` inside this row."""
        self.problems.append(
            self.source.problem("seed-invalid", message, (*self.path, *path), hint, key=True)
        )


@dataclass(slots=True)
class SeedPlan:
    """Seed rows in loading order (every row after the rows it refers to)."""

    rows: list[SeedRow]
    #: problems of the files themselves (YAML, seed schema, unknown entities)
    problems: list[Problem]
    #: rows that could not be placed (a reference cycle)
    cyclic: list[SeedRow] = field(default_factory=list)

    def collected(self) -> list[Problem]:
        """Every problem: the files', then each failing row's (its first one noting the rows
        that depend on it)."""
        out = list(self.problems)
        for row in [*self.rows, *self.cyclic]:
            for i, problem in enumerate(row.problems):
                if i == 0 and row.dependents:
                    note = f"{row.dependents} row(s) that refer to it were not loaded"
                    hint = f"{problem.hint}; {note}" if problem.hint else note
                    problem = replace(problem, hint=hint)
                out.append(problem)
        return out


def content_key(item: Mapping[str, Any]) -> str:
    """The key of a record written without one: a hash of its content (stable across runs)."""
    text = json.dumps(item, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:40]


def read_rows(model: PortalModel, bundle: Bundle) -> SeedPlan:
    """Parse every seed file of the model into rows (file order; accounts, users, records)."""
    validator = Draft202012Validator(seed_schema())
    rows: list[SeedRow] = []
    problems: list[Problem] = []
    for pattern in model.seed:
        for rel in match_files(bundle, pattern) or []:
            parsed = parse_text(bundle.files[rel], rel)
            problems.extend(parsed.problems)
            if parsed.problems or not isinstance(parsed.data, dict):
                continue
            source = SourceMap(parsed.positions, parsed.key_positions, rel)
            found = schema_problems(validator, parsed.data, source)
            problems.extend(found)
            if not found:
                rows.extend(_file_rows(model, parsed.data, source, problems))
    return SeedPlan(rows, problems)


def _file_rows(
    model: PortalModel, data: Mapping[str, Any], source: SourceMap, problems: list[Problem]
) -> list[SeedRow]:
    rows: list[SeedRow] = []
    for i, item in enumerate(data.get("accounts") or []):
        given = {k: v for k, v in item.items() if k != "key"}
        rows.append(SeedRow("account", str(item["key"]), given, ("accounts", i), source))
    for i, item in enumerate(data.get("users") or []):
        email = str(item["email"]).strip().lower()  # logins are case-insensitive
        given = {k: v for k, v in item.items() if k not in ("password", "roles", "memberships")}
        given["email"] = email
        given.setdefault("name", email.split("@")[0])
        password = item.get("password")
        rows.append(
            SeedRow(
                "user",
                email,
                given,
                ("users", i),
                source,
                roles=tuple(str(r) for r in item.get("roles") or ()),
                password=None if password is None else str(password),
                memberships=tuple(
                    (str(m["account"]), tuple(str(r) for r in m.get("roles") or ()))
                    for m in item.get("memberships") or ()
                ),
            )
        )
    for entity, items in (data.get("records") or {}).items():
        if entity not in model.entities:
            problems.append(
                source.problem("seed-invalid", f"unknown entity {entity!r}", ("records", entity))
            )
            continue
        for i, item in enumerate(items):
            key = str(item.get("key") or content_key(item))
            given = {k: v for k, v in item.items() if k not in ("key", "created_by")}
            row = SeedRow(entity, key, given, ("records", entity, i), source)
            creator = item.get("created_by")
            row.creator = None if creator is None else str(creator).strip().lower()
            rows.append(row)
    return rows


def plan_seed(
    model: PortalModel, bundle: Bundle, exists: Callable[[RowKey], bool] = lambda _: False
) -> SeedPlan:
    """Read, clean and order the seed rows. `exists` says whether a key the seed files do
    not define is already in the database (deploy); validate has none."""
    plan = read_rows(model, bundle)
    index: dict[RowKey, SeedRow] = {}
    unique: list[SeedRow] = []
    for row in plan.rows:
        if row.row_key not in index:  # a key seeded twice is loaded once, like on a re-run
            index[row.row_key] = row
            unique.append(row)
    for row in unique:
        _clean(model, row, index, exists)
    plan.rows, plan.cyclic = _order(unique, index)
    for row in plan.cyclic:
        row.fail("seed rows refer to each other in a cycle", (), "break the cycle")
    return plan


def _clean(
    model: PortalModel,
    row: SeedRow,
    index: Mapping[RowKey, SeedRow],
    exists: Callable[[RowKey], bool],
) -> None:
    entity = model.entities[row.entity]
    if row.entity == "user":
        unknown = [r for r in row.roles if r not in model.roles]
        if unknown:
            row.fail(f"unknown role(s) {', '.join(unknown)}", ("roles",))
        for i, (account, roles) in enumerate(row.memberships):
            if ("account", account) not in index and not exists(("account", account)):
                row.fail(f"no seed account {account!r}", ("memberships", i, "account"))
            bad = [r for r in roles if r not in model.roles or model.roles[r].builtin]
            if bad:
                row.fail(f"unknown role(s) {', '.join(bad)}", ("memberships", i, "roles"))
    if row.creator is not None:
        target: RowKey = ("user", row.creator)
        if target in index or exists(target):
            row.refs["created_by"] = target
        else:
            row.fail(f"no user {row.creator!r}", ("created_by",), "seed the user too")
    for name, raw in row.given.items():
        fld = entity.fields.get(name)
        if fld is None:
            row.fail(f"{entity.name} has no field {name!r}", (name,))
            continue
        if fld.kind.assigned:
            row.fail(
                f"{name} is numbered when the record is created and cannot be given",
                (name,),
                "remove it: seed records are numbered in loading order",
            )
            continue
        if fld.type == "ref" and raw is not None and fld.config is not None:
            to = str(fld.config.to)
            target = (to, str(raw).strip().lower() if to == "user" else str(raw))
            if target == row.row_key:
                row.fail(f"the row refers to itself in {name}", (name,))
            elif target in index or exists(target):
                row.refs[name] = target
            else:
                what = "user" if to == "user" else f"{to} with key"
                row.fail(
                    f"no {what} {raw!r}",
                    (name,),
                    f"seed the {to} (in any seed file) or fix the {'e-mail' if to == 'user' else 'key'}",
                )
            continue
        try:
            row.values[name] = fld.kind.clean(fld, raw)
        except FieldValueError as exc:
            row.fail(f"{name}: {exc}", (name,))


def _order(
    rows: list[SeedRow], index: Mapping[RowKey, SeedRow]
) -> tuple[list[SeedRow], list[SeedRow]]:
    """Rows after the rows they refer to, otherwise in file order; and the rows in cycles."""
    done: set[RowKey] = set()
    active: set[RowKey] = set()
    ordered: list[SeedRow] = []
    cyclic: list[SeedRow] = []

    def visit(row: SeedRow) -> None:
        stack: list[tuple[SeedRow, list[RowKey]]] = [(row, list(row.refs.values()))]
        active.add(row.row_key)
        while stack:
            current, pending = stack[-1]
            while pending:
                target = pending.pop(0)
                dep = index.get(target)
                if dep is None or target in done or dep is current:
                    continue
                if target in active:
                    if current not in cyclic:
                        cyclic.append(current)
                    continue
                active.add(target)
                stack.append((dep, list(dep.refs.values())))
                break
            else:
                stack.pop()
                active.discard(current.row_key)
                done.add(current.row_key)
                if current not in cyclic:
                    ordered.append(current)

    for row in rows:
        if row.row_key not in done:
            visit(row)
    return ordered, cyclic


def blocked_by(row: SeedRow, failed: Mapping[RowKey, SeedRow]) -> SeedRow | None:
    """The failed row `row` refers to (it cannot be loaded then), if any."""
    for target in row.refs.values():
        if target in failed and target != row.row_key:
            return failed[target]
    return None

"""Seed data (`deploy --seed`): accounts, users and records, idempotent by key.

References use keys: accounts and records by `key`, users by e-mail. Records without a key get
a key derived from their content, so loading the same files twice changes nothing. Seed data is
operator input loaded at deploy time, so it is written without an actor's grants, but every
value is cleaned by its field type and every problem is reported with file and line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from jsonschema import Draft202012Validator

from .computed import apply_defaults
from .errors import FieldMessage
from .expressions import EvaluationError
from .fields import FieldValueError
from .loader import SourceMap, match_files
from .model import Entity
from .passwords import hash_password
from .platform_tables import seed_keys
from .portal import CompiledPortal
from .problems import DefinitionError, JsonPath, Problem
from .rollup_sql import empty_value
from .schema.check import schema_problems
from .schema.compose import seed_schema
from .store import RecordStore
from .tables import utcnow
from .yamlsource import parse_text


@dataclass(slots=True)
class SeedStats:
    """How many rows seeding created and skipped (already present)."""

    created: dict[str, int] = field(default_factory=dict)
    skipped: int = 0

    def total(self) -> int:
        """Rows created."""
        return sum(self.created.values())


class _Seeder:
    def __init__(self, conn: sa.Connection, portal: CompiledPortal, engine: sa.Engine) -> None:
        self.conn = conn
        self.portal = portal
        self.store = RecordStore(portal.model, portal.tables, portal.policy, engine)
        self.stats = SeedStats()
        self.problems: list[Problem] = []
        self.source = SourceMap()

    def fail(self, code: str, message: str, path: JsonPath, hint: str = "") -> None:
        self.problems.append(self.source.problem(code, message, path, hint))

    # -- keys -------------------------------------------------------------------------
    def key_id(self, entity: str, key: str) -> int | None:
        row = self.conn.execute(
            sa.select(seed_keys.c.record_id).where(
                seed_keys.c.portal == self.portal.slug,
                seed_keys.c.entity == entity,
                seed_keys.c.key == key,
            )
        ).first()
        return None if row is None else int(row[0])

    def remember(self, entity: str, key: str, record_id: int) -> None:
        self.conn.execute(
            seed_keys.insert().values(
                portal=self.portal.slug, entity=entity, key=key, record_id=record_id
            )
        )

    def user_id(self, email: str) -> int | None:
        table = self.portal.tables["user"]
        row = self.conn.execute(
            sa.select(table.c.id).where(table.c.email == email.strip().lower())
        ).first()
        return None if row is None else int(row[0])

    # -- values -----------------------------------------------------------------------
    def resolve(
        self, entity: Entity, item: Mapping[str, Any], path: JsonPath
    ) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        ok = True
        for name, raw in item.items():
            if name in ("key", "created_by"):
                continue
            fld = entity.fields.get(name)
            if fld is None:
                self.fail("seed-invalid", f"{entity.name} has no field {name!r}", (*path, name))
                ok = False
                continue
            if fld.type == "ref" and raw is not None:
                target = fld.config.to
                ref_id = (
                    self.user_id(str(raw)) if target == "user" else self.key_id(target, str(raw))
                )
                if ref_id is None:
                    self.fail(
                        "seed-invalid",
                        f"no {target} with key {raw!r}",
                        (*path, name),
                        "seed the referenced record first (earlier in the file)",
                    )
                    ok = False
                    continue
                raw = ref_id
            try:
                values[name] = fld.kind.clean(fld, raw)
            except FieldValueError as exc:
                self.fail("seed-invalid", f"{name}: {exc}", (*path, name))
                ok = False
        for name, fld in entity.fields.items():
            if fld.rollup is not None:
                values[name] = empty_value(fld)  # recomputed after seeding
            if name not in values and fld.default is not None:
                values[name] = fld.default
        errors: dict[str, list[FieldMessage]] = {}
        apply_defaults(entity, values, item.keys(), None, errors)
        for name, messages in errors.items():
            self.fail("seed-invalid", f"{name}: {messages[0].text()}", (*path, name))
            ok = False
        for name, fld in entity.fields.items():
            if fld.required and fld.kind.is_empty(values.get(name)) and ok:
                self.fail("seed-invalid", f"{entity.name} needs {name!r}", path)
                ok = False
        for wf in self.portal.model.workflow_for(entity.name):
            values.setdefault(wf.field, wf.initial)
            if values[wf.field] is None:
                values[wf.field] = wf.initial
        for name, fld in entity.fields.items():
            if fld.compute is None or not fld.stored or not ok:
                continue
            try:  # stored computed fields hold their value from the start
                values[name] = fld.kind.clean(fld, fld.compute.evaluate(record=values))
            except (EvaluationError, FieldValueError) as exc:
                self.fail("seed-invalid", f"{name} could not be computed: {exc}", path)
                ok = False
        return values if ok else None

    def created_by(self, item: Mapping[str, Any], path: JsonPath) -> int | None:
        email = item.get("created_by")
        if email is None:
            return None
        uid = self.user_id(str(email))
        if uid is None:
            self.fail("seed-invalid", f"no user {email!r}", (*path, "created_by"))
        return uid

    def count(self, entity: str) -> None:
        self.stats.created[entity] = self.stats.created.get(entity, 0) + 1

    # -- sections ---------------------------------------------------------------------
    def accounts(self, items: list[dict[str, Any]]) -> None:
        entity = self.portal.model.entities["account"]
        for i, item in enumerate(items):
            path: JsonPath = ("accounts", i)
            if self.key_id("account", str(item["key"])) is not None:
                self.stats.skipped += 1
                continue
            values = self.resolve(entity, item, path)
            if values is None:
                continue
            new_id = self.store.insert_row(self.conn, entity, values, created_by=None)
            self.remember("account", str(item["key"]), new_id)
            self.count("account")

    def users(self, items: list[dict[str, Any]]) -> None:
        entity = self.portal.model.entities["user"]
        table = self.portal.tables["user"]
        declared = set(self.portal.model.roles)
        for i, item in enumerate(items):
            path: JsonPath = ("users", i)
            if self.user_id(str(item["email"])) is not None:
                self.stats.skipped += 1
                continue
            roles = list(item.get("roles") or [])
            unknown = [r for r in roles if r not in declared]
            if unknown:
                self.fail("seed-invalid", f"unknown role(s) {', '.join(unknown)}", (*path, "roles"))
                continue
            fields = {k: v for k, v in item.items() if k not in ("password", "roles")}
            fields["email"] = str(item["email"]).strip().lower()  # logins are case-insensitive
            fields.setdefault("name", str(item["email"]).split("@")[0])
            values = self.resolve(entity, fields, path)
            if values is None:
                continue
            new_id = self.store.insert_row(self.conn, entity, values, created_by=None)
            password = item.get("password")
            self.conn.execute(
                table.update()
                .where(table.c.id == new_id)
                .values(
                    roles=roles,
                    is_active=True,
                    password_hash=hash_password(str(password)) if password else None,
                    password_changed_at=utcnow() if password else None,
                )
            )
            self.count("user")

    def records(self, sections: dict[str, list[dict[str, Any]]]) -> None:
        for entity_name, items in sections.items():
            entity = self.portal.model.entities.get(entity_name)
            if entity is None:
                self.fail(
                    "seed-invalid", f"unknown entity {entity_name!r}", ("records", entity_name)
                )
                continue
            for i, item in enumerate(items):
                path: JsonPath = ("records", entity_name, i)
                key = str(item.get("key") or _content_key(item))
                if self.key_id(entity_name, key) is not None:
                    self.stats.skipped += 1
                    continue
                creator = self.created_by(item, path)
                values = self.resolve(entity, item, path)
                if values is None:
                    continue
                new_id = self.store.insert_row(self.conn, entity, values, created_by=creator)
                self.remember(entity_name, key, new_id)
                self.count(entity_name)


def _content_key(item: Mapping[str, Any]) -> str:
    text = json.dumps(item, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:40]


def load_seed(conn: sa.Connection, portal: CompiledPortal, engine: sa.Engine) -> SeedStats:
    """Load every seed file of the portal inside `conn`'s transaction.

    Raises DefinitionError (nothing is kept: the caller's transaction rolls back) when any
    seed value is invalid.
    """
    seeder = _Seeder(conn, portal, engine)
    validator = Draft202012Validator(seed_schema())
    bundle = portal.bundle
    for pattern in portal.model.seed:
        for rel in match_files(bundle, pattern) or []:
            parsed = parse_text(bundle.files[rel], rel)
            if parsed.problems:
                raise DefinitionError(parsed.problems)
            data = parsed.data or {}
            source = SourceMap(parsed.positions, parsed.key_positions, rel)
            problems = schema_problems(validator, data, source)
            if problems:
                raise DefinitionError(problems)
            seeder.source = source
            seeder.accounts(list(data.get("accounts") or []))
            seeder.users(list(data.get("users") or []))
            seeder.records(dict(data.get("records") or {}))
            if seeder.problems:
                raise DefinitionError(seeder.problems)
    return seeder.stats

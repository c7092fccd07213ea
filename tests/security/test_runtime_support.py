"""Shared set-up of the runtime security tests (tests/security/test_runtime_*.py).

Portals are deployed with a cheap (still valid) argon2 hasher: these tests sign users in
without the login form, so the seed's password hashing would only cost time. This module holds
no tests.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import sqlalchemy as sa
from argon2 import PasswordHasher

from portalis.engine.accounts import passwords
from portalis.testing.portals import BLUEPRINTS
from portalis.testing.web import WebPortal

B2C = BLUEPRINTS / "b2c"
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
SUBJECTS = {
    "t1": "Invoice 2026-114 is wrong",  # acme, by anna
    "t2": "Cannot download my contract",  # acme, by ben
    "t3": "Change of delivery address",  # globex, by nina
    "t4": "Outage in the order portal",  # globex, by nina
}


def deploy(
    database_url: str, instance: Path, definition: Path = B2C, *, seed: bool = True
) -> WebPortal:
    """Deploy `definition` (seeded with cheap password hashes) and serve it."""
    with mock.patch.object(passwords, "_hasher", CHEAP_HASHER):
        return WebPortal.deploy(database_url, instance, definition, seed=seed)


def b2c_copy(
    target: Path, edit: Callable[[Path], Any] | None = None, *, slug: str | None = None
) -> Path:
    """A copy of the b2c blueprint in `target`, optionally renamed and edited in place."""
    shutil.copytree(B2C, target)
    if slug is not None:
        portal = target / "portal.yaml"
        portal.write_text(
            re.sub(r"(?m)^portal: .*$", f"portal: {slug}", portal.read_text(encoding="utf-8")),
            encoding="utf-8",
        )
    if edit is not None:
        edit(target)
    return target


def set_in_portal_yaml(folder: Path, old: str, new: str) -> None:
    """Replace `old` (which must occur) by `new` in the copy's portal.yaml."""
    path = folder / "portal.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


#: What a rule's placeholders are filled with by `rule_path` (`id`: the ticket given to it).
_RULE_VALUES = {
    "token": "x" * 43,
    "file_id": "A" * 32,
    "entity": "ticket",
    "name": "start",
    "provider": "password",
    "step": "callback",
    "page": "tickets",
    "block": "0",
    "action": "delete",
    "document": "x" * 24,
    "version": "1",
    "number": "1",
    "printout": "summary",
    "import_id": "x" * 32,
    "payment": "pay_" + "x" * 24,
}


def rule_path(rule: str, ticket: int) -> str:
    """A URL rule with its placeholders filled in: `ticket` as the record id, and a
    well-formed value of the right kind for each other one."""
    values = {**_RULE_VALUES, "id": str(ticket)}
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values[m.group(1)], rule)


def table_rows(engine: sa.Engine, *, skip_columns: frozenset[str] = frozenset()) -> dict:
    """Every row of every table in the database (minus `skip_columns`), for 'nothing changed'."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for name, table in sorted(metadata.tables.items()):
            rows = conn.execute(sa.select(table)).mappings()
            out[name] = sorted(
                ({k: v for k, v in row.items() if k not in skip_columns} for row in rows),
                key=repr,
            )
    return out

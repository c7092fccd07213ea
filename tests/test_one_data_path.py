"""One data path: the runtime and the plugins reach portal tables only through the engine.

Every read and write of a portal's tables goes through the record store (permissions, field
rules, audit, rollups, automations) or, for the user table's authentication columns, the
engine's `users`/`user_writes`; blocks ask `engine.rights` what an actor may do instead of
building permission SQL. This test parses the sources of the runtime, the facades and the
first-party plugins and fails on any direct use of portal tables outside `ALLOWED`, a short
list in which every entry says why it is allowed. It also fails on an entry nothing needs any
more, and shows on snippets that each rule finds what it is meant to find.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What is scanned: the web layer, the facades and the first-party plugins' code (not their
#: tests, and not `portalis.testing`, whose fixtures inspect tables on purpose).
SCANNED = (
    "platform/runtime",
    "platform/builder",
    "platform/api",
    "platform/web",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "plugins").glob("*/src")),
)

#: (path, rule) → why that file may do it. Keep it short: a new entry needs a reason that
#: would convince a reviewer that the record store cannot do the job.
ALLOWED: dict[tuple[str, str], str] = {}

#: Store methods below the permission checks and the write listeners: runtime code calling
#: them would write or read without grants, audit, rollups or automations.
STORE_INTERNALS = frozenset(
    {"insert_row", "update_row", "load_raw", "raw_values", "to_values", "locked", "emit"}
)
#: Policy methods that build permission SQL (the store and `engine.rights` use them).
PERMISSION_SQL = frozenset({"row_filter", "grant_flags", "scope_clause", "readable_clause"})
#: Modules that give a portal's tables (`data.tables`) or their names (`definition.naming`).
TABLE_MODULES = frozenset({"portalis.engine.data.tables", "portalis.engine.definition.naming"})
#: Names of those modules that give a portal's tables or their names.
TABLE_NAMES = frozenset(
    {"build_tables", "TableSet", "table_name", "table_prefix", "USER_AUTH_COLUMNS"}
)
#: A portal table's name in SQL text or an f-string (`p_<slug>__<entity>`).
PORTAL_TABLE_TEXT = re.compile(r"\bp_(?:\{\}|[a-z0-9_])+__(?:\{\}|[a-z0-9_])")


@dataclass(frozen=True, slots=True)
class Finding:
    """One direct use of portal tables."""

    path: str
    line: int
    rule: str
    code: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.code}"


def _receiver_name(node: ast.expr) -> str:
    """The last name of an attribute chain's receiver (`portal.compiled` → `compiled`)."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _template(node: ast.JoinedStr) -> str:
    return "".join(
        v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
        for v in node.values
    )


def scan_source(source: str, path: str = "<snippet>") -> list[Finding]:
    """Every direct use of portal tables in `source` (see the rules below)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    found: list[Finding] = []

    def add(node: ast.AST, rule: str) -> None:
        line = getattr(node, "lineno", 0)
        code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        found.append(Finding(path, line, rule, code))

    for node in ast.walk(tree):
        # `portal.compiled.tables`, `store.tables[...]`, `portal.tables` (not a MetaData's)
        if isinstance(node, ast.Attribute) and node.attr == "tables":
            if not _receiver_name(node.value).lower().endswith("metadata"):
                add(node, "portal-tables")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name == "table":
                add(node, "portal-tables")  # `store.table("ticket")`
            elif name in STORE_INTERNALS:
                add(node, "store-internals")
            elif name in PERMISSION_SQL:
                add(node, "permission-sql")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name == "users_table":  # the runtime's old helper handing out the user table
                add(node, "portal-tables")
            elif name in PERMISSION_SQL:
                add(node, "permission-sql")
            elif name in STORE_INTERNALS:
                add(node, "store-internals")
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names = {a.name for a in node.names}
            if node.module in TABLE_MODULES and names & TABLE_NAMES:
                add(node, "engine-tables")
            elif node.module == "portalis.engine.data" and "tables" in names:
                add(node, "engine-tables")
        elif isinstance(node, ast.Import):
            if any(a.name in TABLE_MODULES for a in node.names):
                add(node, "engine-tables")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if PORTAL_TABLE_TEXT.search(node.value):
                add(node, "portal-table-sql")
        elif isinstance(node, ast.JoinedStr) and PORTAL_TABLE_TEXT.search(_template(node)):
            add(node, "portal-table-sql")
    return found


def scan_tree() -> list[Finding]:
    """The findings of every scanned source file."""
    found: list[Finding] = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            found.extend(scan_source(path.read_text(encoding="utf-8"), rel))
    return found


def test_no_direct_portal_table_use_outside_the_allow_list() -> None:
    findings = scan_tree()
    unexpected = [f for f in findings if (f.path, f.rule) not in ALLOWED]
    assert not unexpected, "direct use of portal tables (go through the engine):\n" + "\n".join(
        map(str, unexpected)
    )
    used = {(f.path, f.rule) for f in findings}
    stale = sorted(set(ALLOWED) - used)
    assert not stale, f"allow-list entries nothing needs any more: {stale}"


def test_every_allowed_entry_gives_its_reason() -> None:
    for key, reason in ALLOWED.items():
        assert len(reason.split()) >= 5, key


def test_the_scan_covers_runtime_and_plugins() -> None:
    assert "platform/runtime" in SCANNED
    assert any(s.startswith("plugins/") for s in SCANNED)
    files = [p for s in SCANNED for p in (ROOT / s).rglob("*.py")]
    assert len(files) > 100  # the runtime alone has more; a wrong root would find none


@pytest.mark.parametrize(
    ("snippet", "rule"),
    [
        ("table = portal.compiled.tables['user']", "portal-tables"),
        ("rows = conn.execute(sa.select(store.tables[entity]))", "portal-tables"),
        ("store.table('ticket').update().values(x=1)", "portal-tables"),
        ("conn.execute(users_table(portal).update().values(is_active=False))", "portal-tables"),
        ("store.insert_row(conn, entity, values, created_by=None)", "store-internals"),
        ("store.update_row(conn, entity, current, merged)", "store-internals"),
        ("where = store.policy.row_filter(actor, 'ticket', 'read')", "permission-sql"),
        ("flags = policy.grant_flags(actor, entity, 'update')", "permission-sql"),
        ("from portalis.engine.data.tables import build_tables", "engine-tables"),
        ("from portalis.engine.data import tables", "engine-tables"),
        ("import portalis.engine.data.tables", "engine-tables"),
        ("from portalis.engine.definition.naming import table_name", "engine-tables"),
        ("conn.execute(sa.text('UPDATE p_acme_support__user SET roles = 1'))", "portal-table-sql"),
        ("conn.exec_driver_sql(f'DELETE FROM p_{slug}__ticket')", "portal-table-sql"),
    ],
)
def test_a_direct_use_is_found(snippet: str, rule: str) -> None:
    findings = scan_source(snippet)
    assert [f.rule for f in findings] == [rule], findings


@pytest.mark.parametrize(
    "snippet",
    [
        "portal.store.update(actor, 'user', 1, {'name': 'Ann'})",
        "rights = record_rights(ctx.store, ctx.actor, 'ticket', 7)",
        "names = [n for n in metadata.tables]",
        "from portalis.engine.data.tables import utcnow",
        "conn.execute(sessions.update().where(sessions.c.user_id == 1).values(revoked=True))",
        "text = 'see p_ for prefixes'",
    ],
)
def test_engine_calls_and_runtime_tables_are_no_finding(snippet: str) -> None:
    assert scan_source(snippet) == []

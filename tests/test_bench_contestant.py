"""The peers-harness contestant in `bench/` keeps to public names, so it survives refactors of
the internals; its definition still deploys; and its index check sees a composite index."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa

from portalis.testing.portals import deploy_served

ROOT = Path(__file__).resolve().parent.parent
CONTESTANT = ROOT / "bench" / "peers_contestant.py"
#: Facades whose `__all__` lists what may be imported from them.
FACADES = ("portalis.api", "portalis.web")
#: The app factory and its settings: what a WSGI server of Portalis is built from.
APP_FACTORY = {("portalis.runtime.app", "create_app"), ("portalis.runtime.settings", "Settings")}
#: The contract of the harness (`contestants/__init__.py` of the peers harness).
CONTRACT = ("prepare", "create_app", "login", "list_url")


def _contestant() -> ModuleType:
    """The module as the harness imports it: by file, without the harness's own modules."""
    spec = importlib.util.spec_from_file_location("peers_contestant", CONTESTANT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _portalis_imports(tree: ast.AST) -> Iterator[tuple[int, str, str | None]]:
    """(line, module, imported name or None) of every import of Portalis, nested ones too."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "portalis":
                    yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module.split(".")[0] == "portalis":
                for alias in node.names:
                    yield node.lineno, node.module, alias.name


def _public(module: str, name: str | None) -> bool:
    if module == "portalis.testing" or module.startswith("portalis.testing."):
        return True
    if module in FACADES:
        return name is not None and name in importlib.import_module(module).__all__
    return (module, name) in APP_FACTORY


def test_the_contestant_imports_public_names_only() -> None:
    imports = list(_portalis_imports(ast.parse(CONTESTANT.read_text(encoding="utf-8"))))
    assert imports, "the contestant imports nothing of Portalis"
    offending = [
        f"line {line}: {module} {name or ''}"
        for line, module, name in imports
        if not _public(module, name)
    ]
    assert offending == [], "not public: " + "; ".join(offending)
    for _, module, name in imports:  # and each name still exists where it is imported from
        assert name is None or hasattr(importlib.import_module(module), name), (module, name)


def test_the_contestant_implements_the_harness_contract() -> None:
    """It imports without the harness (whose `data` and `harness` modules it imports where
    they are used) and has the four names the harness calls."""
    module = _contestant()
    assert isinstance(module.LABEL, str) and module.LABEL
    assert all(callable(getattr(module, name)) for name in CONTRACT)
    assert module.list_url(10) == f"/{module.SLUG}/tickets?size=10"
    assert (module.DEFINITION / "portal.yaml").is_file()


@pytest.mark.parametrize("total", [False, True])
def test_the_contestant_definition_deploys(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, total: bool
) -> None:
    module = _contestant()
    monkeypatch.setattr(module, "TOTAL", total)
    portal = deploy_served(sqlite_url, module._definition(str(tmp_path / "run.db")), seed=False)
    assert portal.slug == module.SLUG
    ticket = portal.tables["ticket"]
    assert {"account", "updated_at", "subject", "priority", "status"} <= set(ticket.c.keys())
    (block,) = portal.model.pages["tickets"].blocks
    assert block.config.total is total


def test_an_index_starting_with_the_list_columns_counts_and_others_do_not(
    database_url: str,
) -> None:
    module = _contestant()
    engine = sa.create_engine(database_url)
    table = sa.Table(
        "bench_probe",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account", sa.Integer),
        sa.Column("updated_at", sa.DateTime),
    )
    try:
        with engine.begin() as conn:
            table.create(conn)
            sa.Index("ix_probe_account", table.c.account).create(conn)
            sa.Index("ix_probe_updated_account", table.c.updated_at, table.c.account).create(conn)
        assert not module.list_index_present(engine, table.name)
        with engine.begin() as conn:
            sa.Index("ix_probe_list", table.c.account, table.c.updated_at, table.c.id).create(conn)
        assert module.list_index_present(engine, table.name)
    finally:
        engine.dispose()

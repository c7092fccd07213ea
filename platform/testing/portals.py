"""Helpers to deploy definitions and act as their users in tests (no HTTP needed)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pluggy
import sqlalchemy as sa

from portalis.engine.accounts.users import find_user
from portalis.engine.data.db import create_engine
from portalis.engine.data.permissions import Actor
from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.deploy.validator import Checker
from portalis.engine.deploy.versions import deploy
from portalis.engine.plugins import make_plugin_manager
from portalis.engine.portal import CompiledPortal
from portalis.runtime import default_plugins
from portalis.runtime import hookspecs as runtime_hookspecs
from portalis.runtime.cli.common import migrate_database

#: The repository's blueprints folder (for tests inside this repository).
BLUEPRINTS = Path(__file__).resolve().parents[2] / "blueprints"
#: Where `b2c_with` adds auth settings and provider entries to the b2c blueprint.
_B2C_AUTH_END = "  sessions: {idle_minutes: 60, absolute_hours: 12}\n"
_B2C_PASSWORD_END = (
    "      policy: {min_length: 12, max_age_days: 365, history: 5, lockout_after: 10}\n"
)


def b2c_with(
    folder: Path,
    *,
    auth: str = "",
    providers: str = "",
    files: Mapping[str, str] | None = None,
) -> Path:
    """A copy of the b2c blueprint in `folder` with `auth` (YAML lines indented by two
    spaces, e.g. `"  two_factor: {required_for: [agent]}\n"`) added to its `auth:` section,
    `providers` (list items indented by four) after its password provider, and `files`
    (relative path → text, e.g. `{"entities/zz_incident.yaml": ...}`) written into it."""
    shutil.copytree(BLUEPRINTS / "b2c", folder)
    root = folder / "portal.yaml"
    text = root.read_text(encoding="utf-8")
    if _B2C_AUTH_END not in text or _B2C_PASSWORD_END not in text:
        raise AssertionError("the b2c blueprint's auth section changed: update b2c_with")
    text = text.replace(_B2C_AUTH_END, _B2C_AUTH_END + auth)
    text = text.replace(_B2C_PASSWORD_END, _B2C_PASSWORD_END + providers)
    root.write_text(text, encoding="utf-8")
    for relative, content in (files or {}).items():
        (folder / relative).write_text(content, encoding="utf-8")
    return folder


def deploy_dir(
    engine: sa.Engine,
    checker: Checker,
    directory: str | os.PathLike[str] | Bundle,
    *,
    seed: bool = True,
    env: Mapping[str, str] | None = None,
    allow_destructive: bool = False,
) -> CompiledPortal:
    """Deploy a definition folder (or bundle) and return the live compiled portal."""
    if isinstance(directory, Bundle):
        bundle = directory
    else:
        bundle, _ = read_bundle(directory)
    result = deploy(
        engine, checker, bundle, env if env is not None else {}, seed=seed,
        allow_destructive=allow_destructive,
    )  # fmt: skip
    return result.portal


def deploy_text(
    engine: sa.Engine, checker: Checker, folder: Path, portal: str, seed: str | None = None
) -> CompiledPortal:
    """Write `portal` as `portal.yaml` (and `seed`, when given, as `seed.yaml`) into `folder`,
    creating it, and deploy it with its seed data."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "portal.yaml").write_text(portal, encoding="utf-8")
    if seed is not None:
        (folder / "seed.yaml").write_text(seed, encoding="utf-8")
    return deploy_dir(engine, checker, folder)


def check_text(
    checker: Checker, folder: Path, portal: str, seed: str | None = None
) -> list[tuple[str, str]]:
    """Write `portal` (and `seed`) like `deploy_text` and validate the folder: the problems'
    (code, message)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "portal.yaml").write_text(portal, encoding="utf-8")
    if seed is not None:
        (folder / "seed.yaml").write_text(seed, encoding="utf-8")
    return [(p.code, p.message) for p in checker.check_dir(folder, env={}).report.problems]


def deploy_served(
    database_url: str,
    definition: str | os.PathLike[str],
    *,
    seed: bool = True,
    env: Mapping[str, str] | None = None,
    pm: pluggy.PluginManager | None = None,
) -> CompiledPortal:
    """What `portalis deploy` does before a server starts: deploy `definition` on the
    database at `database_url` (checked with `pm`, default the built-in and installed
    plugins, as `portalis deploy` checks) and create the platform, runtime and plugin tables
    (`migrate_db`)."""
    engine = create_engine(database_url)
    try:
        checker = Checker(pm) if pm is not None else installed_checker()
        compiled = deploy_dir(engine, checker, Path(definition), seed=seed, env=env)
        migrate_db(engine, env)
    finally:
        engine.dispose()
    return compiled


def migrate_db(target: str | sa.Engine, env: Mapping[str, str] | None = None) -> list[str]:
    """`portalis migrate` on a database URL or engine: the platform, runtime and plugin
    tables a server needs (serving apps never create them). Returns the created names."""
    if isinstance(target, sa.Engine):
        return migrate_database(target, env if env is not None else {})
    engine = create_engine(target)
    try:
        return migrate_database(engine, env if env is not None else {})
    finally:
        engine.dispose()


def actor_for(engine: sa.Engine, portal: CompiledPortal, email: str) -> Actor:
    """The actor of a (seeded) user, as the runtime would build it after login."""
    with engine.connect() as conn:
        row = find_user(conn, portal, email)
    if row is None:
        raise LookupError(f"no user {email!r}")
    return Actor.for_user(
        portal.model, int(row["id"]), row["account"], row["roles"] or (),
        email=row["email"], name=row["name"],
    )  # fmt: skip


def without_starter_invoices(data: dict[str, Any], files: dict[str, str]) -> None:
    """Take the starter blueprint's invoices paid online (entity, workflow, pages, navigation
    entry, notification, payment provider and seed file) out of its merged `data` and other
    `files`: for tests whose own definition brings invoices of another shape."""
    data["entities"].pop("invoice", None)
    data.get("workflows", {}).pop("invoice_flow", None)
    data.get("notifications", {}).pop("invoice_paid", None)
    data.pop("payments", None)
    for page in ("invoices", "invoice"):
        data.get("pages", {}).pop(page, None)
    data["navigation"] = [name for name in data.get("navigation", []) if name != "invoices"]
    files.pop("seed/invoices.yaml", None)


@cache
def installed_checker() -> Checker:
    """The checker `portalis deploy` uses: the built-in plugins and every installed
    entry-point plugin (so definitions may use the first-party plugins' sections). Shared:
    it holds no per-test state."""
    return Checker(default_plugins.plugin_manager())


def plugin_checker(*plugins: object) -> Checker:
    """A definition checker that knows the built-in plugins and `plugins` (modules with
    hook implementations of the engine's or the runtime's hooks; no entry points are loaded,
    so tests see exactly these)."""
    return Checker(
        make_plugin_manager(specs=[runtime_hookspecs], extra=plugins, load_entrypoints=False)
    )

"""Helpers of the sample plugin's tests: the plugin's module, the b2c blueprint edited to use
all three of its additions, and a portal served with the plugin loaded.

The plugin is loaded by registering its module with the plugin managers (its `src` on
`sys.path` for the test only), never by installing it into the virtualenv: an installed
entry point would join every other test's plugin set. This module holds no tests.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pluggy

from portalis.engine.data.db import create_engine
from portalis.runtime import default_plugins
from portalis.runtime.app import create_app
from portalis.runtime.settings import Settings
from portalis.testing.portals import b2c_with, deploy_dir, migrate_db, plugin_checker
from portalis.testing.web import WebPortal

#: The sample plugin's distribution.
DISTRIBUTION = Path(__file__).resolve().parent / "sample_plugin"
SOURCE = DISTRIBUTION / "src"
PEPPER_VARIABLE = "SAMPLE_DIRECTORY_PEPPER"
ENV = {PEPPER_VARIABLE: "pepper-that-lives-in-the-environment"}
#: The directory's users: user name → (password, e-mail, groups, customer number).
USERS = {
    "ada": ("analytical engine 1843", "ada@support.test", ("support",), ""),
    "bob": ("difference engine 1822", "bob@acme.test", ("customers",), "C-1001"),
}

RATING_FIELD = """\
      satisfaction:
        type: rating
        max: 5
        labels: [Poor, Fair, Good, {en: Very good, de: Sehr gut}, Excellent]
        label: {en: Satisfaction, de: Zufriedenheit, fr: Satisfaction, es: Satisfacción}
"""
SUMMARY_BLOCK = """\
      - rating_summary:
          entity: ticket
          field: satisfaction
          title: {en: Customer satisfaction, de: Kundenzufriedenheit, fr: Satisfaction, es: Satisfacción}
"""


@contextmanager
def sample_module() -> Iterator[ModuleType]:
    """The plugin's top module, importable while the context is open."""
    sys.path.insert(0, str(SOURCE))
    try:
        yield importlib.import_module("portalis_sample")
    finally:
        sys.path.remove(str(SOURCE))


def directory_entry(users: str | None = None, pepper: str = f'"${{{PEPPER_VARIABLE}}}"') -> str:
    """The `sample_directory` provider entry (list item lines indented by four)."""
    if users is None:
        passwords = importlib.import_module("portalis_sample.passwords")
        users = "".join(
            f"        - {{username: {name}, email: {email}, name: {name.title()}, "
            f"groups: [{', '.join(groups)}], {f'account: {account}, ' if account else ''}"
            f'password_hash: "{_hash(passwords, pw)}"}}\n'
            for name, (pw, email, groups, account) in USERS.items()
        )
    return (
        "    - type: sample_directory\n"
        "      name: staff\n"
        "      label: Staff directory\n"
        f"      pepper: {pepper}\n"
        "      role_map: {support: agent, customers: customer}\n"
        "      allow_registration: true\n"
        "      account_from: claim:account\n"
        "      account_match: customer_number\n"
        f"      users:\n{users}"
    )


def _hash(passwords: ModuleType, password: str) -> str:
    made: str = passwords.make_hash(
        password, ENV[PEPPER_VARIABLE], iterations=passwords.MIN_ITERATIONS
    )
    return made


def sample_portal(
    folder: Path, *, field: str = RATING_FIELD, block: str = SUMMARY_BLOCK, provider: str = ""
) -> Path:
    """b2c with a rating field on tickets (offered by the new-ticket form), a rating summary
    on the dashboard and the given provider entry (default: the sample directory)."""
    # without the starter's invoices: the checkers here know the core and the sample only
    b2c_with(folder, providers=provider or directory_entry(), invoices=False)
    _insert(folder / "entities" / "ticket.yaml", "      due:\n", field)
    pages = folder / "pages" / "tickets.yaml"
    _insert(pages, "      - metrics:\n", block)
    text = pages.read_text(encoding="utf-8")
    new_form = "fields: [subject, body, priority, amount, tags, due, attachment]"
    assert new_form in text, "the b2c new-ticket form changed: update sample_portal"
    pages.write_text(text.replace(new_form, new_form[:-1] + ", satisfaction]"), encoding="utf-8")
    return folder


def _insert(path: Path, before: str, lines: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(before) == 1, f"{before!r} is not once in {path.name}: update the tests"
    path.write_text(text.replace(before, lines + before), encoding="utf-8")


def line_of(path: Path, text: str) -> int:
    """The 1-based number of the first line of `path` that contains `text`."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} is not in {path}")


def plugin_manager(module: ModuleType) -> pluggy.PluginManager:
    """The runtime's plugin manager as a server builds it (installed entry points too),
    plus the sample plugin."""
    return default_plugins.plugin_manager(extra=[module])


def serve(
    database_url: str, tmp_path: Path, module: ModuleType, env: Mapping[str, str] = ENV
) -> WebPortal:
    """Deploy the sample portal with the plugin's checker and serve it with the same plugin
    manager (as `portalis.testing.portal_fixtures.serve_definition` does for installed
    plugins)."""
    folder = sample_portal(tmp_path / "portal")
    pm = plugin_manager(module)
    engine = create_engine(database_url)
    try:
        compiled = deploy_dir(engine, plugin_checker(module), folder, env=env)
        migrate_db(engine, env)
    finally:
        engine.dispose()
    settings = Settings.from_env(
        {
            **env,
            "PORTALIS_DATABASE_URL": database_url,
            "PORTALIS_INSTANCE_PATH": str(tmp_path / "instance"),
        },
        testing=True,
        version_check_seconds=0,
    )
    return WebPortal(create_app(settings, pm=pm), compiled)


def copy_distribution(target: Path) -> Path:
    """A copy of the distribution's sources (building writes metadata next to them, which
    must never land in the repository's `src` folder on `sys.path`)."""
    return Path(shutil.copytree(DISTRIBUTION, target, ignore=shutil.ignore_patterns("*.egg-info")))

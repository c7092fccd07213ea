"""A field type, a block type and a sign-in provider type added by a plugin distribution
(`tests/plugins/sample_plugin`) without touching a core file: each with its own schema,
checks and documentation, validated, served and signed in with on SQLite and PostgreSQL.

How the plugin is loaded: its module is registered with the plugin managers
(`plugin_checker(module)`, `default_plugins.plugin_manager(extra=[module])`) while its `src`
folder is on `sys.path` — not installed into the virtualenv, because an installed entry point
would join the plugin set of every other test (and of `make docs`). That it is a real
distribution whose entry point a server finds is shown separately: it is installed into a
temporary folder and the `portalis` command runs with that folder on `PYTHONPATH`.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from sample_support import (
    ENV,
    SOURCE,
    USERS,
    copy_distribution,
    directory_entry,
    line_of,
    plugin_manager,
    sample_module,
    sample_portal,
    serve,
)

from portalis.engine.docs import docgen
from portalis.engine.problems import Problem, Severity
from portalis.testing.inspection import export_audit, find_user
from portalis.testing.portals import plugin_checker
from portalis.testing.web import PortalClient, WebPortal

API = "/api/v1"


@pytest.fixture
def sample() -> Iterator[ModuleType]:
    """The plugin's module (`portalis_sample`)."""
    with sample_module() as module:
        yield module


@pytest.fixture
def web(database_url: str, tmp_path: Path, sample: ModuleType) -> Iterator[WebPortal]:
    """The sample portal, served with the plugin."""
    served = serve(database_url, tmp_path, sample)
    try:
        yield served
    finally:
        served.close()


def located(problems: list[Problem]) -> set[tuple[str, str, int, str]]:
    """(code, file, line, path) of each error."""
    return {(p.code, p.file, p.line, p.path_text) for p in problems if p.severity == Severity.ERROR}


# -- definition ------------------------------------------------------------------------
def test_a_definition_using_all_three_is_valid_and_compiles_to_the_plugins_objects(
    tmp_path: Path, sample: ModuleType
) -> None:
    checked = plugin_checker(sample).check_dir(sample_portal(tmp_path / "portal"))
    assert checked.report.problems == []
    model = checked.model
    assert model is not None
    field = model.entities["ticket"].fields["satisfaction"]
    assert isinstance(field.kind, sample.RatingType)
    assert field.config.max == 5 and field.config.labels[3].get("de") == "Sehr gut"
    dashboard = model.pages["dashboard"]
    summary = dashboard.blocks[0].config
    assert isinstance(summary, sample.RatingSummary)
    assert (summary.entity, summary.field) == ("ticket", "satisfaction")
    assert summary.title is not None and summary.title.get("de") == "Kundenzufriedenheit"
    staff = model.auth.provider("staff")
    assert staff is not None and isinstance(staff.config, sample.Directory)
    assert sorted(staff.config.users) == ["ada", "bob"]
    assert staff.config.pepper == "${SAMPLE_DIRECTORY_PEPPER}"  # resolved when deployed


def test_the_plugins_checks_report_located_problems(tmp_path: Path, sample: ModuleType) -> None:
    ada = directory_entry().splitlines(keepends=True)[-2]  # ada's line, a valid hash
    users = (
        ada
        + ada  # the same user name (and address) twice
        + "        - {username: eve, email: eve@acme.test, password_hash: pbkdf2_sha256$10$x$y}\n"
    )
    folder = sample_portal(
        tmp_path / "portal",
        field="      satisfaction: {type: rating, max: 4, labels: [Bad, Good]}\n",
        block="      - rating_summary: {entity: ticket, field: priority}\n"
        "      - rating_summary: {entity: tickets, field: satisfaction}\n",
        provider=directory_entry(users, pepper="literally-in-the-file"),
    )
    report = plugin_checker(sample).check_dir(folder).report
    portal, ticket, pages = "portal.yaml", "entities/ticket.yaml", "pages/tickets.yaml"
    root = folder / portal
    assert located(report.problems) == {
        ("field-option", ticket, line_of(folder / ticket, "satisfaction:"),
         "entities.ticket.fields.satisfaction.labels"),
        ("block-option", pages, line_of(folder / pages, "field: priority"),
         "pages.dashboard.blocks[0].rating_summary.field"),
        ("ref-unknown-entity", pages, line_of(folder / pages, "entity: tickets"),
         "pages.dashboard.blocks[1].rating_summary.entity"),
        ("secret-literal", portal, line_of(root, "literally-in-the-file"),
         "auth.providers[1].pepper"),
        ("schema-value", portal, line_of(root, "username: ada") + 1,
         "auth.providers[1].users[1].username"),
        ("schema-value", portal, line_of(root, "username: ada") + 1,
         "auth.providers[1].users[1].email"),
        ("schema-format", portal, line_of(root, "username: eve"),
         "auth.providers[1].users[2].password_hash"),
    }  # fmt: skip
    messages = {p.path_text: (p.message, p.hint) for p in report.problems}
    assert messages["entities.ticket.fields.satisfaction.labels"][0] == (
        "labels has 2 entries, but ratings run from 1 to 4"
    )
    assert (
        "priority' is a choice field"
        in messages["pages.dashboard.blocks[0].rating_summary.field"][0]
    )
    assert "satisfaction" in messages["pages.dashboard.blocks[0].rating_summary.field"][1]
    assert (
        "did you mean 'ticket'?" in messages["pages.dashboard.blocks[1].rating_summary.entity"][1]
    )
    assert "10 iterations" in messages["auth.providers[1].users[2].password_hash"][0]


def test_the_plugins_schemas_report_located_problems(tmp_path: Path, sample: ModuleType) -> None:
    folder = sample_portal(
        tmp_path / "portal",
        field="      satisfaction: {type: rating, max: 11}\n",
        block="      - rating_summary: {entity: ticket, field: satisfaction, colour: red}\n",
        provider=directory_entry("        - {username: eve, password_hash: x}\n"),
    )
    report = plugin_checker(sample).check_dir(folder).report
    found = {(code, path) for code, _, _, path in located(report.problems)}
    assert found == {
        ("schema-format", "entities.ticket.fields.satisfaction.max"),
        ("schema-unknown-key", "pages.dashboard.blocks[0].rating_summary.colour"),
        ("schema-missing-key", "auth.providers[1].users[0]"),
    }
    lines = {p.path_text: (p.file, p.line) for p in report.problems}
    assert lines["entities.ticket.fields.satisfaction.max"] == (
        "entities/ticket.yaml",
        line_of(folder / "entities" / "ticket.yaml", "satisfaction:"),
    )
    assert lines["auth.providers[1].users[0]"] == (
        "portal.yaml",
        line_of(folder / "portal.yaml", "username: eve"),
    )


def test_without_the_plugin_the_definition_is_invalid(tmp_path: Path, sample: ModuleType) -> None:
    folder = sample_portal(tmp_path / "portal")
    report = plugin_checker().check_dir(folder).report
    assert not report.ok
    assert {(code, path) for code, _, _, path in located(report.problems)} == {
        ("ref-unknown-field-type", "entities.ticket.fields.satisfaction.type"),
        ("schema-unknown-key", "pages.dashboard.blocks[0].rating_summary"),
        ("schema-value", "auth.providers[1].type"),
    }


# -- served ----------------------------------------------------------------------------
def ticket_api(browser: PortalClient, ticket_id: int) -> dict[str, object]:
    """A ticket as the REST API returns it."""
    response = browser.get(f"{API}/ticket/{ticket_id}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, object] = response.get_json()
    return body


def test_the_rating_round_trips_through_the_form_and_the_api_and_the_block_sums_it_up(
    web: WebPortal,
) -> None:
    ben = web.client("ben@acme.test")
    form = ben.get("/tickets/new").get_data(as_text=True)
    assert re.search(r'<select id="b0-satisfaction" name="satisfaction"', form)
    assert '<option value="4">4 – Very good</option>' in form
    assert '<option value="">Not rated</option><option value="1">1 – Poor</option>' in form
    # the form: the chosen level is stored as a number and shown again when editing
    created = ben.post("/tickets/new", {"_block": "0", "subject": "Rated", "satisfaction": "4"})
    assert created.status_code == 303, created.get_data(as_text=True)[:2000]
    rated = int(created.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert web.store.get(web.actor("sam@support.test"), "ticket", rated)["satisfaction"] == 4
    assert ticket_api(ben, rated)["satisfaction"] == 4
    # out of range: the type's message next to the field, nothing written
    refused = ben.post("/tickets/new", {"_block": "0", "subject": "Too good", "satisfaction": "9"})
    assert refused.status_code == 422
    assert "must be a rating from 1 to 5" in refused.get_data(as_text=True)
    assert '<option value="9" selected>' not in refused.get_data(as_text=True)
    # the API: a number in, the same number out; the schema documents the range
    posted = ben.client.post(
        ben.url(f"{API}/ticket"),
        json={"subject": "Rated by API", "satisfaction": 2},
        headers={"X-CSRF-Token": ben.csrf},
    )
    assert posted.status_code == 201, posted.get_json()
    assert ticket_api(ben, posted.get_json()["id"])["satisfaction"] == 2
    bad = ben.client.post(
        ben.url(f"{API}/ticket"),
        json={"subject": "Off the scale", "satisfaction": 6},
        headers={"X-CSRF-Token": ben.csrf},
    )
    assert bad.status_code == 422
    assert bad.get_json()["errors"]["satisfaction"][0]["code"] == "range"
    openapi = ben.get(f"{API}/openapi.json").get_json()
    ticket_schema = openapi["components"]["schemas"]
    documented = [
        schema["properties"]["satisfaction"]
        for schema in ticket_schema.values()
        if "satisfaction" in schema.get("properties", {})
    ]
    assert documented and any(
        s.get("maximum") == 5 or any(a.get("maximum") == 5 for a in s.get("anyOf", ()))
        for s in documented
    )
    # the block: average and one row per level, over what the reader may see
    page = web.client("sam@support.test").get("/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<h2 id="block-0-rating-summary">Customer satisfaction</h2>' in html
    assert "Average 3.0 of 5 from 2 ratings." in html
    assert '<th scope="row">4 – Very good</th><td>1</td>' in html
    assert '<th scope="row">2 – Fair</th><td>1</td>' in html
    assert '<th scope="row">5 – Excellent</th><td>0</td>' in html
    german = web.client("anna@acme.test").get("/dashboard").get_data(as_text=True)
    assert "Kundenzufriedenheit" in german and "4 – Sehr gut" in german


def sign_in(browser: PortalClient, username: str, password: str) -> int:
    """POST the staff directory's form of the login page; the status."""
    page = browser.get("/login").get_data(as_text=True)
    assert 'name="provider" value="staff"' in page and "Staff directory" in page
    browser.sync_csrf()
    form = {"provider": "staff", "username": username, "password": password}
    return browser.post("/login", form).status_code


def test_the_directory_signs_users_in_from_the_login_page(web: WebPortal) -> None:
    ada = web.client()
    assert sign_in(ada, " ADA", USERS["ada"][0]) == 303
    assert ada.get("/dashboard").status_code == 200  # an agent, by the role map
    with web.engine.connect() as conn:
        row = find_user(conn, web.compiled, "ada@support.test")
    assert row is not None and row["roles"] == ["agent"]
    assert row["name"] == "Ada" and not row["password_hash"]
    bob = web.client()
    assert sign_in(bob, "bob", USERS["bob"][0]) == 303
    assert bob.get("/tickets").status_code == 200
    with web.engine.connect() as conn:
        bob_row = find_user(conn, web.compiled, "bob@acme.test")
    assert bob_row is not None and bob_row["roles"] == ["customer"]
    assert bob_row["account"] == web.record_id("account", name="Acme GmbH")
    # a wrong password and an unknown name get the same answer; the log knows which
    stranger = web.client()
    assert sign_in(stranger, "bob", "not the password") == 422
    assert sign_in(stranger, "mallory", "whatever it is") == 422
    assert stranger.get("/dashboard").status_code in (302, 303)
    failed = [
        e["detail"]["reason"]
        for e in export_audit(web.engine, since=datetime(2000, 1, 1, tzinfo=UTC), portal=web.slug)
        if e["action"] == "login_failed"
    ]  # fmt: skip
    assert failed[-2:] == ["bad_password", "user_not_found"]


def test_the_pepper_comes_from_the_environment(
    database_url: str, tmp_path: Path, sample: ModuleType
) -> None:
    """Hashes made with another pepper match nothing: the secret is the environment's."""
    served = serve(database_url, tmp_path, sample, env={**ENV, "SAMPLE_DIRECTORY_PEPPER": "x"})
    try:
        assert sign_in(served.client(), "ada", USERS["ada"][0]) == 422
    finally:
        served.close()


# -- documentation ---------------------------------------------------------------------
def test_the_reference_documents_the_plugins_sections_when_it_is_loaded(
    tmp_path: Path, sample: ModuleType
) -> None:
    with_plugin = docgen.generate(tmp_path, plugin_manager(sample))[
        tmp_path / docgen.REFERENCE_NAME
    ]
    without = docgen.generate(tmp_path)[tmp_path / docgen.REFERENCE_NAME]
    for heading in (
        "### `block_rating_summary`",
        "### `provider_sample_directory`",
        "### Field type: `rating`",
    ):
        assert heading in with_plugin and heading not in without
    assert sample.SUMMARY_SECTION.schema["description"] in with_plugin
    assert "The highest rating (2–10, default 5); ratings start at 1." in with_plugin
    assert "The secret every password is peppered with; write ${ENV_NAME}." in with_plugin


def test_the_reference_shows_each_sections_title_description_and_example(
    tmp_path: Path, sample: ModuleType
) -> None:
    reference = docgen.generate(tmp_path, plugin_manager(sample))[tmp_path / docgen.REFERENCE_NAME]
    for section in (sample.SUMMARY_SECTION, sample.DIRECTORY_SECTION):
        assert f"#### `{section.key}`: {section.title}" in reference
        assert section.description in reference
        example = section.example.splitlines()
        assert f"  {example[0]}" in reference and f"  {example[-1]}" in reference
    assert "Provided by `portalis_sample`" in reference
    assert "Secret options (write them as `${ENV}` references): `pepper`." in reference


# -- the distribution ------------------------------------------------------------------
def _portalis(*args: str, site: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **ENV}  # the definition's ${SAMPLE_DIRECTORY_PEPPER}
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    command = [str(Path(sys.executable).with_name("portalis")), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_installed_distribution_is_found_through_its_entry_point(
    tmp_path: Path, sample: ModuleType
) -> None:
    """Installed (into a folder of its own, offline), the plugin is loaded by `portalis` like
    any plugin: listed with its hooks, and the definition that uses it validates."""
    source = copy_distribution(tmp_path / "portalis-sample")
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
    pip += ["--no-build-isolation", "--target", str(site), str(source)]
    installed = subprocess.run(pip, capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    listed = _portalis("plugins", site=site)
    assert listed.returncode == 0, listed.stderr
    assert "sample  [entry point]  portalis-sample 0.1.0" in listed.stdout
    folder = sample_portal(tmp_path / "portal")
    assert _portalis("validate", str(folder), site=site).returncode == 0
    refused = _portalis("validate", str(folder))
    assert refused.returncode == 1
    assert "unknown field type 'rating'" in refused.stdout + refused.stderr


def test_the_plugin_imports_only_the_public_facades() -> None:
    """Of Portalis, the plugin's code imports `portalis.api` and `portalis.web` only (not
    even `portalis.testing`), and never Flask's request globals."""
    allowed = ("portalis.api", "portalis.web")
    files = sorted(SOURCE.rglob("*.py"))
    assert len(files) >= 5
    imported: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module)
                if node.module == "flask":
                    imported.update(f"flask.{alias.name}" for alias in node.names)
    ours = {m for m in imported if m == "portalis" or m.startswith("portalis.")}
    assert ours == set(allowed)
    assert "flask.g" not in imported

"""Benchmark: the builder's save of one small edit, against `portalis validate` of the same files.

Two definitions, each forked into a builder draft of a fresh database (what *New portal* does):

* the starter: `blueprints/b2c`;
* a generated definition of 200 entities (`builder_definition.py`: fields of eight types,
  refs between the entities, three roles with grants, list and detail pages, a workflow on
  every fifth entity), written into a temporary folder.

For each, one run takes turns (the order reversed every other round) between:

* **validate** — what `portalis validate DIR` does, in-process: `Checker.check_dir` of the
  folder with the installed plugins (the checker built once, as a server holds it);
* **validate (CLI)** — `portalis validate DIR` as a subprocess, what a user times in a shell
  (interpreter start, imports, plugin loading and the checker's schema included);
* **save** — the roles editor's save of one role label through its real HTTP route, signed in
  as a builder account (password and TOTP code): the POST (apply the edit to the YAML, store
  the revision, audit) and the GET of the editor it redirects to (validate, compile and plan
  the new revision, show its problems), each a Flask test-client request;
* **the steps of a save**, called directly on the saved revision's files as the routes call
  them: load (parse the YAML), validate (load + schema + semantic checks), compile, plan
  (against the database), store (one revision written).

Reported: median ms of each, and the save (POST + GET) as a ratio of the in-process validate.
Target: a save of the starter answers in under 300 ms.

    .venv/bin/python bench/builder_save.py                      # SQLite and PostgreSQL
    .venv/bin/python bench/builder_save.py --db sqlite --saves 10 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from builder_definition import write_generated
from flask import Flask
from flask.testing import FlaskClient
from harness import ROUNDS, add_database_argument, database, database_kinds

from portalis.builder.accounts import create_account
from portalis.engine import drafts
from portalis.engine.data.db import begin_write
from portalis.engine.data.platform_tables import ensure_platform_tables
from portalis.engine.definition.bundle import Bundle
from portalis.engine.definition.loader import load
from portalis.engine.deploy.migrations import plan
from portalis.engine.portal import compile_portal, renames
from portalis.runtime.app import create_app
from portalis.runtime.settings import Settings
from portalis.testing.authenticator import Authenticator
from portalis.testing.portals import BLUEPRINTS, deploy_dir, migrate_db
from portalis.testing.web import app_state, session_csrf

#: A save of the starter answers (POST + the editor it redirects to) within this.
TARGET_MS = 300.0
EDITOR = "bench-editor@example.test"
PASSWORD = "builder bench horse 7"
#: The role whose label each save changes (both definitions have it).
ROLE = "customer"
_SECRET = re.compile(r'data-secret="([A-Z2-7]+)"')
_SAVED = re.compile(r"\?saved=(\d+)")
STEPS = ("load", "validate", "compile", "plan", "store")


# -- set-up -------------------------------------------------------------------------------
def builder_app(url: str, instance: Path) -> Flask:
    """A server of the database at `url` with every installed plugin (the builder among
    them), its tables migrated as `portalis migrate` does."""
    migrate_db(url)
    env = {"PORTALIS_DATABASE_URL": url, "PORTALIS_INSTANCE_PATH": str(instance)}
    return create_app(Settings.from_env(env, testing=True, version_check_seconds=0))


def post(client: FlaskClient, app: Flask, path: str, **form: str) -> Any:
    """POST a form with the session's CSRF token, as the builder's pages do."""
    return client.post(path, data={**form, "csrf_token": session_csrf(client, app, path)})


def signed_in(app: Flask) -> FlaskClient:
    """A test client signed in to the builder as a new account with the edit right on every
    portal: password, then enrolling an authenticator with its first code."""
    with begin_write(app_state(app).engine) as conn:
        create_account(conn, EDITOR, PASSWORD, portals=("*",), rights=("edit",))
    client = app.test_client()
    first = post(client, app, "/_builder/login", email=EDITOR, password=PASSWORD)
    assert first.status_code == 303, first.status_code
    page = client.get("/_builder/login/code")
    found = _SECRET.search(page.text)
    assert found, "no authenticator key on the enrolment page"
    done = post(client, app, "/_builder/login/code", code=Authenticator(found.group(1)).code())
    assert done.status_code == 200 and "Recovery codes" in done.text, done.status_code
    return client


class Draft:
    """A definition folder deployed (with its seed data) and a draft of its live version,
    edited through its roles editor."""

    def __init__(self, app: Flask, folder: Path) -> None:
        self.app = app
        self.engine = app_state(app).engine
        slug = deploy_dir(self.engine, app_state(app).checker, folder, seed=True).slug
        info = drafts.draft_from_live(self.engine, slug, name="bench")
        self.id, self.slug, self.head = info.id, slug, info.head
        data = load(drafts.revision_bundle(self.engine, self.id))[0].data
        self.locales = [str(loc) for loc in data.get("locales") or ["en"]]
        self.labels = dict(data["roles"][ROLE]["label"])
        self.url = f"/_builder/p/{slug}/d/{self.id}/roles"
        self.saves = 0

    def save(self, client: FlaskClient) -> tuple[float, float]:
        """One save through the roles editor (a new English label of `ROLE`, different each
        time); seconds of the POST and of the GET it redirects to."""
        self.saves += 1
        form = {f"label.{loc}": str(self.labels.get(loc, "")) for loc in self.locales}
        form[f"label.{self.locales[0]}"] = f"Customer {self.saves}"
        form.update(action="save", role=ROLE, base_revision=str(self.head))
        form["csrf_token"] = session_csrf(client, self.app, self.url)
        start = time.perf_counter()
        saved = client.post(self.url, data=form)
        middle = time.perf_counter()
        assert saved.status_code == 303, (saved.status_code, saved.text[:500])
        shown = client.get(saved.headers["Location"])
        end = time.perf_counter()
        number = _SAVED.search(saved.headers["Location"])
        assert number and shown.status_code == 200, shown.status_code
        assert f"Customer {self.saves}" in shown.text and 'data-code="' not in shown.text
        self.head = int(number.group(1))
        return middle - start, end - middle

    def steps(self) -> dict[str, float]:
        """Seconds of each step of a save, called as the routes call them on the head's files
        (the store step writes one more revision with the next label)."""
        st = app_state(self.app)
        bundle = drafts.revision_bundle(self.engine, self.id, self.head)
        out: dict[str, float] = {}
        out["load"], _ = _timed(lambda: load(bundle, st.settings.env))
        out["validate"], checked = _timed(lambda: st.checker.check_bundle(bundle, st.settings.env))
        model = checked.unwrap()
        out["compile"], compiled = _timed(lambda: compile_portal(model, bundle))
        out["plan"], _ = _timed(lambda: _plan(self.engine, compiled))
        out["store"], saved = _timed(lambda: self._store(bundle))
        self.head = saved.number
        return out

    def _store(self, bundle: Bundle) -> drafts.RevisionInfo:
        self.saves += 1
        path = "portal.yaml" if "roles:" in bundle.files["portal.yaml"] else None
        assert path is not None, "the roles are not in portal.yaml"
        text = re.sub(r"Customer \d+", f"Customer {self.saves}", bundle.files[path], count=1)
        return drafts.save(self.engine, self.id, self.head, {path: text}, message="bench")


def _plan(engine: Any, compiled: Any) -> Any:
    ensure_platform_tables(engine)
    return plan(engine, compiled.tables, renames=renames(compiled))


def _timed(func: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def cli_validate(folder: Path) -> float:
    """Seconds of `portalis validate FOLDER` as a subprocess (it must find no error)."""
    command = [str(Path(sys.executable).with_name("portalis")), "validate", str(folder)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done.stdout.decode()[-2000:]
    return elapsed


# -- one definition -----------------------------------------------------------------------
def measure(
    app: Flask, client: FlaskClient, folder: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """Median ms of validate (in-process and CLI), of the save and of its steps, taking turns
    over `args.rounds` rounds of `args.saves` each."""
    draft = Draft(app, folder)
    checker = app_state(app).checker
    env = dict(os.environ)

    def validate() -> float:
        seconds, checked = _timed(lambda: checker.check_dir(folder, env))
        assert checked.report.ok, [p.code for p in checked.report.errors][:5]
        return seconds

    validate(), draft.save(client), draft.steps()  # warm-up: templates, caches, connections
    samples: dict[str, list[float]] = {k: [] for k in ("validate", "cli", "post", "get", "total")}
    samples.update({f"step_{k}": [] for k in STEPS})

    def validates() -> None:
        samples["validate"] += [validate() for _ in range(args.saves)]
        samples["cli"] += [cli_validate(folder) for _ in range(args.cli_runs)]

    def saves() -> None:
        for _ in range(args.saves):
            post_s, get_s = draft.save(client)
            samples["post"].append(post_s)
            samples["get"].append(get_s)
            samples["total"].append(post_s + get_s)
        for _ in range(args.saves):
            for key, seconds in draft.steps().items():
                samples[f"step_{key}"].append(seconds)

    for number in range(args.rounds):
        for side in (validates, saves) if number % 2 == 0 else (saves, validates):
            side()
    ms = {k: round(statistics.median(v) * 1000, 1) for k, v in samples.items() if v}
    result: dict[str, Any] = {"median_ms": ms, "revisions": draft.head}
    result["ratio"] = round(ms["total"] / ms["validate"], 2)
    if "cli" in ms:
        result["ratio_cli"] = round(ms["total"] / ms["cli"], 2)
    return result


def run(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Measure both definitions on each database `--db` asks for; one result each."""
    args = parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        generated = write_generated(Path(tmp) / "generated", args.entities)
        definitions = (
            ("starter (blueprints/b2c)", BLUEPRINTS / "b2c", TARGET_MS),
            (f"generated, {args.entities} entities", generated, None),
        )
        for kind in database_kinds(args.db):
            with database(kind, Path(tmp)) as url:
                app = builder_app(url, Path(tmp) / f"instance-{kind}")
                try:
                    client = signed_in(app)
                    for name, folder, target in definitions:
                        result = measure(app, client, folder, args)
                        result.update(definition=name, database=kind, target_ms=target)
                        results.append(result)
                finally:
                    app_state(app).engine.dispose()
    return results


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_argument(parser)
    parser.add_argument("--entities", type=int, default=200, help="of the generated definition")
    parser.add_argument("--saves", type=int, default=10, help="saves and validates per round")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--cli-runs", type=int, default=1, help="CLI validates per round")
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def report(results: list[dict[str, Any]]) -> None:
    """The figures as a table, one line per definition and database, then the steps."""
    print(
        f"{'definition':<28} {'db':<10} {'validate':>9} {'CLI':>9} {'POST':>8} {'GET':>8} "
        f"{'save':>8} {'ratio':>7} {'vs CLI':>7}  target"
    )
    for r in results:
        ms = r["median_ms"]
        cli = f"{ms['cli']:>7.1f}ms" if "cli" in ms else f"{'-':>9}"
        vs_cli = f"{r['ratio_cli']:>6.2f}x" if "ratio_cli" in r else f"{'-':>7}"
        target = r["target_ms"]
        mark = "" if target is None else ("ok" if ms["total"] < target else "SLOW")
        print(
            f"{r['definition']:<28} {r['database']:<10} {ms['validate']:>7.1f}ms {cli} "
            f"{ms['post']:>6.1f}ms {ms['get']:>6.1f}ms {ms['total']:>6.1f}ms "
            f"{r['ratio']:>6.2f}x {vs_cli}  {mark}"
        )
    print("\nsteps of a save (median ms, called directly on the saved revision's files):")
    print(f"{'definition':<28} {'db':<10} " + " ".join(f"{s:>9}" for s in STEPS))
    for r in results:
        ms = r["median_ms"]
        steps = " ".join(f"{ms[f'step_{s}']:>9.1f}" for s in STEPS)
        print(f"{r['definition']:<28} {r['database']:<10} {steps}")
    print(
        "\nvalidate = Checker.check_dir in-process; CLI = `portalis validate` as a subprocess;"
        "\nsave = POST of the roles editor + GET of the editor it redirects to (validate,"
        " compile, plan);\nratio = save / validate in-process; vs CLI = save / CLI"
    )


def main() -> None:
    results = run()
    if "--json" in sys.argv:
        print(json.dumps(results, indent=2))
        return
    report(results)


if __name__ == "__main__":
    main()

"""The OpenAPI document is exact: schemathesis finds no request it calls valid that the server
refuses, no response that breaks it, no server error and no `Allow` that disagrees with it.

The starter blueprint is served over HTTP on 127.0.0.1 and schemathesis' engine — the same as
its CLI — runs its coverage, fuzzing and stateful phases against the document a signed-in
customer gets, with the checks `not_a_server_error`, `response_schema_conformance`,
`content_type_conformance`, `positive_data_acceptance` and `allow_header_conformance` at their
default settings (`positive_data_acceptance` expects 2xx, 3xx, 401, 403, 404, 409, 429 or 5xx
for a request the document calls valid; a 400 or 422 fails it). The run is seeded and
derandomised (`deterministic`), with `MAX_EXAMPLES` examples per operation in the fuzzing
phase; the coverage phase covers every operation and parameter anyway.

Only SQLite: the document and the request checks before the store are the same code on every
database, and the store's own behaviour on PostgreSQL is covered by the other API tests; the
run is bounded to keep `make test` short.

Generator steering. Some of the server's rules depend on data and time, not on the shape of a
request, so no OpenAPI document can state them; schemathesis calls the operations that run
into them `missing_test_data` / `validation_mismatch` and recommends supplying real values.
`RuntimeRules.steer` (a `map_case` hook on this schema only, applied to *positive* cases of
every phase; negative cases are left as generated) does exactly that, and nothing else:

1. path `id`s: a record the customer can see (ids read from the API at the start, plus the
   records the run creates). A random id names no record: 404, never the operation's logic;
2. ref fields in bodies (`ticket.account`, `message.ticket`, and in a transition's `values`):
   the id of a record of the target entity the customer can see — the store refuses a ref
   to a record that does not exist or that the actor cannot read (422). An integral float
   stays a float (`3.0`), so the server's reading of JSON integers is still exercised;
3. file fields (`ticket.attachment`): null. A file id is only valid after an upload by the
   same user (the store refuses ids of files the actor did not upload; the API takes no
   uploads yet), so no generated id can be valid;
4. `ticket.due`: a date before tomorrow is moved to tomorrow or later. The starter's rule
   `record['due'] is None or record['due'] >= today()` depends on the day of the run (and
   `today()` is the UTC date, so tomorrow stays valid if the run crosses midnight);
5. `Idempotency-Key`: a fresh key per case. The same key with another body is refused with
   422 (as the IETF idempotency-key draft says), and generators repeat short keys.

Transitions that the record's state (or the `when` of `reopen`) does not allow are not
steered: the server answers 403 `transition-unavailable`, which the document lists and the
check accepts. Nothing weakens a check: no status is added to the expected ones, no check is
disabled and no failure is filtered. The test also asserts that every operation of the
document was sent and that each write the customer has (create a ticket or a message, change
a ticket or their user) succeeded at least once, so the steered cases reach the store.
"""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from flask import Flask
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, from_schema
from schemathesis.engine.events import EngineFinished, FatalError, ScenarioFinished
from test_api_support import API, Harness, serve
from werkzeug.serving import make_server

from portalis.engine.definition.model import PortalModel
from portalis.engine.deploy.validator import Checker

CHECKS = [
    "not_a_server_error",
    "response_schema_conformance",
    "content_type_conformance",
    "positive_data_acceptance",
    "allow_header_conformance",
]
SEED = 20261207
MAX_EXAMPLES = 10
#: Date fields the starter's rules require to be today or later (`ticket.due`).
FUTURE_DATES = {("ticket", "due")}


@contextmanager
def over_http(app: Flask) -> Iterator[str]:
    """`app` served on 127.0.0.1 for the block: its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def served(
    sqlite_url: str, tmp_path: Path, portalis_checker: Checker
) -> Iterator[tuple[Harness, str]]:
    with serve(sqlite_url, tmp_path, portalis_checker) as harness, over_http(harness.app) as base:
        yield harness, base


def signed_in(harness: Harness, email: str) -> dict[str, str]:
    """Cookie and X-CSRF-Token headers of a session of `email` (the token as the API hands
    it out: a GET with `X-CSRF-Token: fetch`)."""
    client = harness.client(email)
    token = client.get(f"{API}/openapi.json", headers={"X-CSRF-Token": "fetch"}).headers[
        "X-CSRF-Token"
    ]
    cookie = client.get_cookie(harness.app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return {"Cookie": f"{cookie.key}={cookie.value}", "X-CSRF-Token": token}


class RuntimeRules:
    """The generator steering of the module documentation: real ids, no file ids, dates the
    rules allow, fresh idempotency keys."""

    def __init__(self, model: PortalModel, ids: dict[str, list[int]]) -> None:
        self.model = model
        self.ids = ids
        self.keys = itertools.count(1)
        # the rule's today() is the UTC date; from tomorrow on, a run may cross midnight
        self.earliest = datetime.now(UTC).date() + timedelta(days=1)

    @classmethod
    def read(cls, model: PortalModel, api: str, headers: dict[str, str]) -> RuntimeRules:
        """The ids of every record the actor can list, per entity (through the API)."""
        ids: dict[str, list[int]] = {}
        for name in model.entities:
            response = requests.get(
                f"{api}/{name}", params={"page_size": 200}, headers=headers, timeout=30
            )
            if response.status_code == 200:
                ids[name] = sorted(item["id"] for item in response.json()["items"])
        return cls(model, ids)

    def pick(self, entity: str, generated: Any) -> Any:
        """A visible id of `entity` chosen by the generated value (so the run stays
        deterministic and still varies); a float stays a float."""
        known = self.ids.get(entity)
        if not known or isinstance(generated, bool) or not isinstance(generated, int | float):
            return generated
        chosen = known[int(generated) % len(known)]
        return float(chosen) if isinstance(generated, float) else chosen

    def steer(self, ctx: Any, case: Any) -> Any:
        """`map_case`: positive cases get values that satisfy the runtime rules."""
        if case.meta is None or not case.meta.generation.mode.is_positive:
            return case
        entity = case.operation.path.split("/")[1]
        if "id" in case.path_parameters:
            case.path_parameters = {
                **case.path_parameters,
                "id": self.pick(entity, case.path_parameters["id"]),
            }
        if isinstance(case.body, dict):
            body = self.values(entity, case.body)
            if isinstance(body.get("values"), dict) and "/transitions/" in case.operation.path:
                body["values"] = self.values(entity, body["values"])
            if case.operation.path.endswith("/pay"):
                body = self.payment(entity, body)
            case.body = body
        if "Idempotency-Key" in case.headers:
            headers = dict(case.headers)
            headers["Idempotency-Key"] = f"case-{next(self.keys)}"
            case.headers = headers
        return case

    def payment(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        """A payment's amount the entity allows: its minimum part, or all that is open (null)
        when it is paid as a whole (whether that much is open is the record's state: 409)."""
        payable = self.model.entities[entity].payable
        if payable is None or body.get("amount") is None:
            return body
        return {**body, "amount": str(payable.minimum or 1) if payable.partial else None}

    def values(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        """`body` with refs, files and rule-bound dates steered."""
        fields = self.model.entities[entity].fields
        out = dict(body)
        for name, value in body.items():
            spec = fields.get(name)
            if spec is None or value is None:
                continue
            if spec.type == "ref":
                out[name] = self.pick(spec.config.to, value)
            elif spec.type == "file":
                out[name] = None
            elif (entity, name) in FUTURE_DATES and isinstance(value, str):
                out[name] = self.future(value)
        return out

    def future(self, value: str) -> str:
        """`value`, or a day from tomorrow on when it is earlier."""
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return value
        if day >= self.earliest:
            return value
        return (self.earliest + timedelta(days=day.toordinal() % 1000)).isoformat()

    def created(self, ctx: Any, case: Any, response: Any) -> None:
        """`after_call`: records the run creates are real ids too."""
        if case.method == "POST" and response.status_code == 201:
            entity = case.operation.path.split("/")[1]
            self.ids.setdefault(entity, []).append(int(response.json()["id"]))


@dataclass
class Run:
    """What one schemathesis run found: failed checks, and the statuses each operation
    (`METHOD /path`) was answered with."""

    failures: list[str] = field(default_factory=list)
    statuses: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def record(self, event: ScenarioFinished) -> None:
        """The answers and failed checks of one finished scenario."""
        recorder = event.recorder
        for case_id, interaction in recorder.interactions.items():
            case = recorder.cases[case_id].value
            if interaction.response is not None:
                label = f"{case.method} {case.operation.path}"
                self.statuses[label].add(interaction.response.status_code)
        for case_id, nodes in recorder.checks.items():
            for node in nodes:
                if node.status == Status.FAILURE:
                    case = recorder.cases[case_id].value
                    self.failures.append(f"{node.name}: {case.method} {case.formatted_path} "
                                         f"{node.failure_info!r}")  # fmt: skip


def run_schemathesis(
    api: str, document: dict[str, Any], headers: dict[str, str], rules: RuntimeRules
) -> Run:
    """One seeded run of the coverage, fuzzing and stateful phases."""
    config = SchemathesisConfig(seed=SEED)
    schema = schemathesis.openapi.from_dict(document, config=config)
    schema.hooks.register_hook_with_name(rules.steer, "map_case")
    schema.hooks.register_hook_with_name(rules.created, "after_call")
    project = schema.config
    project.update(base_url=api, headers=headers)
    project.checks.update(included_check_names=CHECKS)
    # derandomised, and no example database: every run sends the same cases
    project.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")
    run = Run()
    for event in from_schema(schema).execute():
        if isinstance(event, FatalError):
            raise AssertionError(f"schemathesis could not run: {event.exception!r}")
        if isinstance(event, ScenarioFinished):
            run.record(event)
        if isinstance(event, EngineFinished):
            break
    return run


def test_openapi_document_is_exact_for_a_customer(served: tuple[Harness, str]) -> None:
    harness, base = served
    headers = signed_in(harness, "ben@acme.test")
    document = requests.get(f"{base}{API}/openapi.json", headers=headers, timeout=30).json()
    assert document["paths"], "the customer's document lists operations"
    rules = RuntimeRules.read(harness.portal.model, f"{base}{API}", headers)
    assert rules.ids["ticket"] and rules.ids["account"], "the customer sees records to use"
    run = run_schemathesis(f"{base}{API}", document, headers, rules)
    assert run.failures == [], "\n".join(run.failures)
    operations = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert operations <= set(run.statuses), "every operation was exercised"
    # the steering reaches the operations' logic: each write succeeded at least once
    for label in ("POST /ticket", "POST /message", "PATCH /ticket/{id}", "PATCH /user/{id}"):
        assert any(200 <= status < 300 for status in run.statuses[label]), label

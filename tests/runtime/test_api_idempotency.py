"""Idempotency-Key on API creates (SECURITY R1, R2)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from test_api_support import API, CSRF, Harness, assert_problem

from portalis.runtime.api import idempotency


def keyed(key: str) -> dict[str, str]:
    return {**CSRF, "Idempotency-Key": key}


def test_r2_idempotency_key_replay(api: Harness) -> None:
    ben = api.client("ben@acme.test")
    before = api.count("ticket")
    body = {"subject": "Charged twice", "tags": ["billing"]}
    first = ben.post(f"{API}/ticket", json=body, headers=keyed("order-123"))
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    replay = ben.post(f"{API}/ticket", json=body, headers=keyed("order-123"))
    assert replay.status_code == 201
    assert replay.get_data() == first.get_data()
    assert replay.headers["Location"] == first.headers["Location"]
    assert replay.headers["ETag"] == first.headers["ETag"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert api.count("ticket") == before + 1
    # the same key with another body is refused, and creates nothing
    other = ben.post(f"{API}/ticket", json={"subject": "Other"}, headers=keyed("order-123"))
    assert_problem(other, 422, "idempotency-key-reused")
    # the key on another entity is another request too
    message = {"ticket": first.get_json()["id"], "body": "x"}
    assert_problem(
        ben.post(f"{API}/message", json=message, headers=keyed("order-123")),
        422,
        "idempotency-key-reused",
    )
    # keys belong to their user: anna's "order-123" is a new request
    anna = api.client("anna@acme.test").post(f"{API}/ticket", json=body, headers=keyed("order-123"))
    assert anna.status_code == 201 and anna.get_json()["id"] != first.get_json()["id"]
    assert api.count("ticket") == before + 2
    # quoted (structured-field) keys are the same key
    quoted = ben.post(f"{API}/ticket", json=body, headers=keyed('"order-123"'))
    assert quoted.get_data() == first.get_data()


def test_r2_idempotency_failures_are_not_stored(api: Harness) -> None:
    ben = api.client("ben@acme.test")
    refused = ben.post(f"{API}/ticket", json={"body": "no subject"}, headers=keyed("k-1"))
    assert_problem(refused, 422, "invalid")
    fixed = ben.post(f"{API}/ticket", json={"subject": "now"}, headers=keyed("k-1"))
    assert fixed.status_code == 201


def test_r2_idempotency_bad_keys_400(api: Harness) -> None:
    ben = api.client("ben@acme.test")
    before = api.count("ticket")
    for key in ("x" * 256, "", "a b", 'a"b', "ä"):
        response = ben.post(
            f"{API}/ticket", json={"subject": "x"}, headers={**CSRF, "Idempotency-Key": key}
        )
        assert_problem(response, 400, "bad-idempotency-key")
    assert api.count("ticket") == before


def test_r1_idempotent_create_leaves_nothing_when_interrupted(
    api: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.app.config["PROPAGATE_EXCEPTIONS"] = False
    ben = api.client("ben@acme.test")
    before = api.count("ticket")

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(idempotency, "complete", crash)
    body = {"subject": "Half-written?"}
    assert_problem(ben.post(f"{API}/ticket", json=body, headers=keyed("r1")), 500)
    assert api.count("ticket") == before
    with api.engine.connect() as conn:
        table = idempotency.idempotency_keys
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0
    monkeypatch.undo()
    retried = ben.post(f"{API}/ticket", json=body, headers=keyed("r1"))
    assert retried.status_code == 201
    assert (
        ben.post(f"{API}/ticket", json=body, headers=keyed("r1")).get_data() == retried.get_data()
    )
    assert api.count("ticket") == before + 1


def test_r2_idempotency_concurrent_duplicates_create_one(api: Harness) -> None:
    clients = [api.client("ben@acme.test") for _ in range(6)]
    before = api.count("ticket")
    statuses: list[int] = []
    barrier = threading.Barrier(len(clients))
    lock = threading.Lock()

    def submit(client: Any) -> None:
        barrier.wait()
        response = client.post(f"{API}/ticket", json={"subject": "race"}, headers=keyed("race"))
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(statuses) == len(clients)
    assert set(statuses) <= {201, 409} and 201 in statuses, statuses
    assert api.count("ticket") == before + 1


def test_idempotency_table_is_created_with_the_runtime_tables(api: Harness) -> None:
    assert "portalis_idempotency_key" in sa.inspect(api.engine).get_table_names()

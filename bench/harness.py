"""What the benchmarks share: the databases they run on, signed-in test clients, timing.

Each benchmark in this folder is a script (`.venv/bin/python bench/<name>.py`), so this folder
is the first entry of `sys.path` and the scripts import this module by its bare name.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from portalis.runtime.sessions import open_session
from portalis.testing.databases import postgres_available, postgres_database

#: Requests sent before measuring: template compile, registry load, connection pool.
WARM_UP = 20
#: Rounds the two sides of a comparison take turns in, so machine noise hits both alike.
ROUNDS = 3


# -- databases ------------------------------------------------------------------------------
def add_database_argument(parser: argparse.ArgumentParser) -> None:
    """`--db sqlite|postgresql|both` (default both)."""
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")


def database_kinds(choice: str) -> list[str]:
    """The databases `--db` asks for, without PostgreSQL when it is not reachable (said once)."""
    kinds = ["sqlite", "postgresql"] if choice == "both" else [choice]
    if "postgresql" in kinds and postgres_available() is not None:
        kinds.remove("postgresql")
        print("PostgreSQL not reachable: measuring SQLite only")
    return kinds


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    """The URL of a fresh, empty database of `kind` (an SQLite file in `tmp`, or a PostgreSQL
    database dropped on exit)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp}/bench-{random.randrange(1 << 30)}.sqlite"
        return
    with postgres_database() as url:
        yield url


# -- clients --------------------------------------------------------------------------------
def signed_in_client(app: Flask, engine: sa.Engine, slug: str, user_id: int) -> Any:
    """A test client of a handwritten baseline app, signed in as `user_id` through a real
    Portalis session whose id the app finds under `sid` in its Flask session."""
    client = app.test_client()
    with engine.begin() as conn:
        secret = open_session(conn, slug, user_id, absolute_hours=12)
    with client.session_transaction() as sess:
        sess["sid"] = secret
    return client


# -- measuring ------------------------------------------------------------------------------
def first_body(client: Any, path: str) -> bytes:
    """The answer after warm-up (`WARM_UP` requests, each one a 200)."""
    for _ in range(WARM_UP):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.get_data())
    body: bytes = response.get_data()
    return body


def timings(client: Any, path: str, requests: int, expected: bytes | None = None) -> list[float]:
    """Seconds per request; every answer must be 200 (and `expected`, when given)."""
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, path
        assert expected is None or response.get_data() == expected, path
    return samples


def median_ms(call: Callable[[], Any], requests: int) -> float:
    """Median milliseconds of `requests` calls of `call` (in-process benchmarks)."""
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def turn_medians(calls: dict[str, Callable[[], Any]], requests: int) -> dict[str, float]:
    """The median milliseconds of each of `calls`, after `WARM_UP` calls of each: the calls
    take turns for `ROUNDS` rounds of `requests`, and each figure is the median of its rounds."""
    for call in calls.values():
        for _ in range(WARM_UP):
            call()
    rounds: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(ROUNDS):
        for name, call in calls.items():
            rounds[name].append(median_ms(call, requests))
    return {name: statistics.median(samples) for name, samples in rounds.items()}


def over_databases(choice: str, run: Callable[[str, str], list[dict[str, Any]]]) -> list[Any]:
    """The results of `run(kind, url)` on a fresh database of each kind `--db` asks for."""
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in database_kinds(choice):
            with database(kind, Path(tmp)) as url:
                results += run(kind, url)
    return results


def percentile(samples: list[float], p: float) -> float:
    """The `p`th percentile of `samples` (seconds) in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def compare_rates(
    ours: Callable[[int], list[float]], base: Callable[[int], list[float]], requests: int
) -> dict[str, float]:
    """Requests/s and p50 of Portalis (`ours`) and the handwritten baseline (`base`), each
    timing a number of requests, taking turns over `ROUNDS` rounds; `ratio` is Portalis time
    per request over handwritten time per request."""
    ours_s: list[float] = []
    base_s: list[float] = []
    for _ in range(ROUNDS):
        ours_s += ours(requests // ROUNDS)
        base_s += base(requests // ROUNDS)
    p_rps = len(ours_s) / sum(ours_s)
    b_rps = len(base_s) / sum(base_s)
    return {
        "portalis_rps": round(p_rps, 1),
        "baseline_rps": round(b_rps, 1),
        "ratio": round(b_rps / p_rps, 3),
        "portalis_p50_ms": round(percentile(ours_s, 50), 2),
        "baseline_p50_ms": round(percentile(base_s, 50), 2),
    }


def rate_line(result: dict[str, Any]) -> str:
    """One database's `compare_rates` result as a report line."""
    return (
        f"  {result['database']:<10} portalis {result['portalis_rps']:>7.1f} req/s "
        f"(p50 {result['portalis_p50_ms']} ms)   handwritten {result['baseline_rps']:>7.1f} req/s "
        f"(p50 {result['baseline_p50_ms']} ms)   ratio {result['ratio']:.2f}x"
    )

"""Benchmark: a full-text search page over 100,000 help articles, against the plain list
page of the same entity (sorted by its indexed `updated_at`) — the median of each and the
ratio, in the same run.

The search ranks by relevance (weighted title and body), with the reader's row filter in the
same statement and the bounded count of the hits; the plain list is the page readers see
before they type. Both go through the record store as a signed-in customer whose grant hides
a field (so the field-mask rule is in play), in-process, after warm-up, taking turns
(`harness.ROUNDS`), on SQLite (FTS5) and PostgreSQL (tsvector + GIN).

    .venv/bin/python bench/search.py                    # 100,000 articles, both databases
    .venv/bin/python bench/search.py --articles 20000 --db sqlite
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from harness import add_database_argument, over_databases, turn_medians

from portalis.engine.data.db import create_engine
from portalis.testing.portals import actor_for, deploy_text, installed_checker

PORTAL = """\
format: portalis/v1
portal: bench-help
title: Help
locales: [en]
roles:
  customer: {label: Customer}
entities:
  article:
    title_field: title
    search: {fields: {title: 4, body: 1, note: 1}}
    fields:
      title: {type: string, required: true}
      body: {type: text}
      note: {type: text}
      published: {type: bool, default: true}
    permissions:
      - {roles: [customer], actions: [read], scope: {where: {published: true}},
         fields: {except: [note]}}
seed: [seed.yaml]
"""
SEED = """\
users:
  - {email: carla@help.test, name: Carla, roles: [customer]}
"""
#: What readers search for: a common topic word and a rarer one.
QUERIES = ("resetting passwords", "invoice refund")
TOPICS = ("password", "reset", "invoice", "refund", "delivery", "account", "login", "order")
FILLER = tuple(f"word{i}" for i in range(3000))


def populate(engine: sa.Engine, table: sa.Table, articles: int) -> None:
    """`articles` rows: a 6-word title and a 60-word body, a topic word in some."""
    rng = random.Random(7)
    batch = []
    for i in range(articles):
        title = " ".join(rng.choice(FILLER) for _ in range(5)) + " " + rng.choice(TOPICS)
        words = [rng.choice(FILLER) for _ in range(58)] + rng.sample(TOPICS, 2)
        rng.shuffle(words)
        batch.append(
            {"title": title, "body": " ".join(words), "note": "internal", "published": i % 10 != 0}
        )
        if len(batch) == 5000:
            with engine.begin() as conn:
                conn.execute(table.insert(), batch)
            batch = []
    if batch:
        with engine.begin() as conn:
            conn.execute(table.insert(), batch)


def run(kind: str, url: str, articles: int, requests: int) -> list[dict[str, Any]]:
    """The figures of one database."""
    engine = create_engine(url)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            portal = deploy_text(engine, installed_checker(), Path(tmp) / "def", PORTAL, SEED)
        populate(engine, portal.tables["article"], articles)
        if kind == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql(f'ANALYZE "{portal.tables["article"].name}"')
        store = portal.store(engine)
        carla = actor_for(engine, portal, "carla@help.test")
        results = []
        for query in QUERIES:
            calls = {
                "plain": lambda: store.list(carla, "article", page_size=25),
                "search": lambda q=query: store.list(carla, "article", search=q, page_size=25),
            }
            found = calls["search"]()
            assert found.records, f"no hits for {query!r}"
            medians = turn_medians(calls, requests)
            plain, search = medians["plain"], medians["search"]
            results.append(
                {
                    "database": kind,
                    "articles": articles,
                    "query": query,
                    "hits": found.total,
                    "plain_ms": round(plain, 3),
                    "search_ms": round(search, 3),
                    "ratio": round(search / plain, 2),
                }
            )
        return results
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run and print a Markdown table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = over_databases(
        args.db, lambda kind, url: run(kind, url, args.articles, args.requests)
    )
    print("| database | articles | query | hits | list p50 ms | search p50 ms | ratio |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for r in results:
        hits = f"{r['hits']:,}" + ("+" if r["hits"] >= 10_000 else "")
        print(
            f"| {r['database']} | {r['articles']:,} | {r['query']} | {hits} | "
            f"{r['plain_ms']} | {r['search_ms']} | {r['ratio']}x |"
        )
    if args.json:
        print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()

"""Benchmark: load + validate + compile + plan of a definition.

Reports median times for the starter blueprint (target < 300 ms) and for a generated
definition with 200 entities (target < 2 s), each with the ratio against a handwritten
baseline measured in the same run: `yaml.safe_load` of the same files plus a plain
JSON-Schema validation — the least any validating loader has to do.

    .venv/bin/python bench/compile.py [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from portalis.engine.data.db import create_engine
from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.deploy.migrations import plan
from portalis.engine.deploy.validator import Checker
from portalis.engine.plugins import make_plugin_manager
from portalis.engine.portal import compile_portal, renames

ROOT = Path(__file__).resolve().parents[1]


def generated_bundle(entities: int) -> Bundle:
    """A definition with `entities` entities, each with 8 fields, grants, a list and a detail page."""
    files = {
        "portal.yaml": (
            "format: portalis/v1\nportal: big\ntitle: Big\nlocales: [en, de]\n"
            "include: [entities/*.yaml, pages/*.yaml]\n"
            "roles:\n  customer: {}\n  agent: {staff: true}\n"
        )
    }
    for i in range(entities):
        name = f"e{i:03d}"
        parent = f"\n      parent: {{type: ref, to: e{i - 1:03d}}}" if i else ""
        files[f"entities/{name}.yaml"] = f"""entities:
  {name}:
    label: {{en: Entity {i}, de: Entität {i}}}
    title_field: title
    fields:
      title: {{type: string, required: true, max_length: 120}}
      body: {{type: text}}
      amount: {{type: money}}
      due: {{type: date}}
      state: {{type: choice, options: [new, open, done], default: new}}
      tags: {{type: tags}}
      account: {{type: ref, to: account}}{parent}
    rules:
      - {{check: "record['due'] is None or record['due'] >= today()", message: {{en: past, de: vorbei}}}}
    permissions:
      - {{roles: [customer], actions: [read, create], scope: account}}
      - {{roles: [agent], actions: [read, update], scope: all}}
"""
        files[f"pages/{name}.yaml"] = f"""pages:
  {name}_list:
    route: /{name}
    roles: [customer, agent]
    blocks:
      - list: {{entity: {name}, columns: [title, state, due, updated_at], filters: [state], search: [title], link: {name}_detail}}
  {name}_detail:
    route: /{name}/<id>
    roles: [customer, agent]
    blocks:
      - detail: {{entity: {name}}}
"""
    return Bundle.of(files)


def portalis_pipeline(bundle: Bundle, checker: Checker, engine_url: str) -> Callable[[], None]:
    engine = create_engine(engine_url)

    def run() -> None:
        model = checker.check_bundle(bundle, {}).unwrap()
        compiled = compile_portal(model, bundle)
        plan(engine, compiled.tables, renames=renames(compiled))

    return run


def baseline(bundle: Bundle, schema: dict[str, object]) -> Callable[[], None]:
    validator = Draft202012Validator(schema)

    def run() -> None:
        merged: dict[str, object] = {}
        for path, text in bundle.files.items():
            if path.endswith((".yaml", ".yml")):
                data = yaml.safe_load(text) or {}
                for key, value in data.items():
                    if isinstance(value, dict) and isinstance(merged.get(key), dict):
                        merged[key].update(value)  # type: ignore[union-attr]
                    else:
                        merged[key] = value
        list(validator.iter_errors(merged))

    return run


def median_ms(func: Callable[[], None], runs: int) -> float:
    func()  # warm-up: imports, caches
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    checker = Checker(make_plugin_manager(load_entrypoints=False))
    starter, _ = read_bundle(ROOT / "blueprints" / "b2c")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        for name, bundle, target in (
            ("starter (blueprints/b2c)", starter, 300.0),
            ("generated, 200 entities", generated_bundle(200), 2000.0),
        ):
            ours = median_ms(portalis_pipeline(bundle, checker, url), args.runs)
            base = median_ms(baseline(bundle, checker.schema), args.runs)
            results.append(
                {"definition": name, "portalis_ms": round(ours, 1), "baseline_ms": round(base, 1),
                 "ratio": round(ours / base, 2), "target_ms": target, "within_target": ours < target}
            )  # fmt: skip
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'definition':<28} {'portalis':>10} {'baseline':>10} {'ratio':>7} {'target':>9}")
    for r in results:
        mark = "ok" if r["within_target"] else "SLOW"
        print(
            f"{r['definition']:<28} {r['portalis_ms']:>8.1f}ms {r['baseline_ms']:>8.1f}ms "
            f"{r['ratio']:>6.2f}x {r['target_ms']:>7.0f}ms {mark}"
        )
    print("portalis = load + validate (schema, semantics, plugins) + compile + plan against SQLite")
    print("baseline = yaml.safe_load + merge + plain JSON-Schema validation of the same files")


if __name__ == "__main__":
    main()

"""The builder's save benchmark (`bench/builder_save.py`) still runs: tiny sizes, SQLite, no
subprocess, no timing asserted — it signs in, saves through the roles editor, and reports
every figure it promises for both definitions."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The script as `python bench/builder_save.py` imports it (its folder first on the path)."""
    monkeypatch.syspath_prepend(str(BENCH))
    for name in ("builder_save", "builder_definition", "harness"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import builder_save

    return builder_save


def test_the_generated_definition_is_valid_and_has_what_it_says(bench: ModuleType) -> None:
    from builder_definition import generated_files

    from portalis.engine.definition.bundle import Bundle
    from portalis.testing.portals import installed_checker

    files = generated_files(6)
    checked = installed_checker().check_bundle(Bundle.of(files), {})
    assert checked.report.problems == []
    model = checked.unwrap()
    assert len([e for e in model.entities if e.startswith("e0")]) == 6
    assert sorted(p for p in files if p.startswith("workflows/")) == [
        "workflows/e000.yaml",
        "workflows/e005.yaml",
    ]


def test_the_bench_runs_with_tiny_sizes(bench: ModuleType) -> None:
    results = bench.run(["--db", "sqlite", "--entities", "3", "--saves", "1", "--rounds", "2",
                         "--cli-runs", "0"])  # fmt: skip
    assert [r["definition"] for r in results] == [
        "starter (blueprints/b2c)",
        "generated, 3 entities",
    ]
    for result in results:
        ms = result["median_ms"]
        expected = {"validate", "post", "get", "total"} | {f"step_{s}" for s in bench.STEPS}
        assert set(ms) == expected and all(value > 0 for value in ms.values())
        # revision 1 (the live version), then a warm-up save and a warm-up run of the steps,
        # then per round one save and one run of the steps: each stores one revision
        assert result["revisions"] == 1 + 2 + 2 * 2
        assert result["database"] == "sqlite" and result["ratio"] > 0
    assert results[0]["target_ms"] == bench.TARGET_MS

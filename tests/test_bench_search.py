"""The search benchmark (`bench/search.py`) still runs: tiny sizes, SQLite, no timing
asserted — every query finds hits the customer may read, ranked through the index."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The script as `python bench/search.py` imports it (its folder on the path)."""
    monkeypatch.syspath_prepend(str(BENCH))
    for name in ("search", "harness"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import search

    return search


def test_the_search_bench_runs(bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    results = bench.main(["--db", "sqlite", "--articles", "300", "--requests", "2"])
    assert [r["query"] for r in results] == list(bench.QUERIES)
    # every article has two topic words in its body: some, never all, match both words;
    # a tenth is unpublished and out of the customer's row filter
    assert all(0 < r["hits"] < 270 for r in results)
    assert "| sqlite | 300 | resetting passwords |" in capsys.readouterr().out

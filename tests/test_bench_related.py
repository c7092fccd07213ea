"""The related-list benchmark (`bench/related_list.py`) still runs: tiny sizes, SQLite, no
timing asserted — and its structural figure holds: a page of 100 rows that shows fields of
referenced records runs as many SELECTs as a page of 10."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The script as `python bench/related_list.py` imports it (its folder on the path)."""
    monkeypatch.syspath_prepend(str(BENCH))
    for name in ("related_list", "harness"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import related_list

    return related_list


def test_the_related_list_costs_constant_statements(
    bench: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    results = bench.main(["--db", "sqlite", "--lines", "200", "--requests", "2"])
    by_rows = {r["rows"]: r for r in results}
    assert sorted(by_rows) == [10, 100]
    assert by_rows[10]["plain_selects"] == by_rows[100]["plain_selects"] == 1
    # the page, then one query per reference and step: order, its account, the product
    assert by_rows[10]["related_selects"] == by_rows[100]["related_selects"] == 4
    assert "| sqlite | 100 |" in capsys.readouterr().out

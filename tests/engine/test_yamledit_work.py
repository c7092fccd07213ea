"""How much parsing one edit of the starter costs: the merged definition is loaded once per
state of the files and each file's round-trip tree is built once per text, however many
times the edit asks for them (a builder save is a handful of such edits)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from portalis.engine.definition.bundle import read_bundle
from portalis.engine.definition.yamledit import BundleEdit, document, edits

STARTER = Path(__file__).resolve().parents[2] / "blueprints" / "b2c"


def _counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts of merged loads and of round-trip trees built by `BundleEdit` (the real
    functions run; they are only counted)."""
    counts = {"load": 0, "tree": 0}
    real_load, real_tree = edits.load, edits.YamlText

    def load(*args: Any, **kwargs: Any) -> Any:
        counts["load"] += 1
        return real_load(*args, **kwargs)

    def tree(*args: Any, **kwargs: Any) -> Any:
        counts["tree"] += 1
        return real_tree(*args, **kwargs)

    monkeypatch.setattr(edits, "load", load)
    monkeypatch.setattr(edits, "YamlText", tree)
    return counts


def test_a_changed_value_loads_the_definition_and_the_file_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle, _ = read_bundle(STARTER)
    counts = _counted(monkeypatch)
    edit = BundleEdit(bundle).set(("roles", "customer", "label", "en"), "Client")
    assert counts == {"load": 1, "tree": 1}
    assert "{en: Client, de: Kunde" in edit.result().files["portal.yaml"]


def test_a_deletion_loads_once_and_the_next_edit_loads_the_changed_files_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle, _ = read_bundle(STARTER)
    counts = _counted(monkeypatch)
    edit = BundleEdit(bundle).delete(("roles", "agent", "staff"))
    assert counts == {"load": 1, "tree": 1}
    edit.set(("roles", "agent", "label", "en"), "Agent")
    assert counts == {"load": 2, "tree": 2}  # portal.yaml changed: both are made again
    text = edit.result().files["portal.yaml"]
    assert "    staff: true" not in text and "{en: Agent, de: Support-Mitarbeiter" in text


def test_of_two_ways_to_write_a_flow_value_only_the_smaller_is_read_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A value inside a flow mapping can be written by rewriting its entry or by splicing the
    dumped tree; each candidate is read back before it is trusted, fewest changed lines
    first, so a valid first candidate is the only one read."""
    bundle, _ = read_bundle(STARTER)
    read: list[str] = []
    real = document.reads

    def reads(text: str, indent: Any) -> Any:
        read.append(text)
        return real(text, indent)

    monkeypatch.setattr(document, "reads", reads)
    result = BundleEdit(bundle).set(("roles", "customer", "label", "en"), "Client").result()
    assert read == [result.files["portal.yaml"]]

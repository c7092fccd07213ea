"""Validation of `bulk:` on list blocks: every mistake is a located problem with a stable code
(the shop test portal with one edit each), and the valid shape compiles to `BulkAction`s."""

from __future__ import annotations

from pathlib import Path

import pytest

from portalis.engine.definition.block_configs import BulkAction, ListBlock
from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.deploy.validator import Checker
from portalis.engine.problems import Problem
from portalis.testing.portals import installed_checker

SHOP = Path(__file__).resolve().parents[1] / "runtime" / "data" / "shop"
BULK = "pages.orders.blocks[0].list.bulk"


@pytest.fixture(scope="module")
def checker() -> Checker:
    return installed_checker()


def problems(checker: Checker, old: str, new: str) -> tuple[list[Problem], int]:
    """The problems of the shop with the first `old` in portal.yaml replaced by `new`, and
    the line `new` starts on."""
    bundle, _ = read_bundle(SHOP)
    files = dict(bundle.files)
    text = files["portal.yaml"]
    assert old in text, old
    files["portal.yaml"] = text.replace(old, new, 1)
    line = text[: text.index(old)].count("\n") + 1
    return list(checker.check_bundle(Bundle.of(files), {}).report.problems), line


def test_the_shop_compiles_its_bulk_actions(checker: Checker) -> None:
    bundle, _ = read_bundle(SHOP)
    checked = checker.check_bundle(bundle, {})
    assert list(checked.report.problems) == []
    cfg = checked.unwrap().pages["orders"].blocks[0].config
    assert isinstance(cfg, ListBlock)
    assert [a.kind for a in cfg.bulk] == [
        "transition",
        "transition",
        "set",
        "set",
        "export",
        "delete",
    ]
    assert cfg.bulk[0] == BulkAction("transition", transition="submit")
    assert cfg.bulk[2].values == (("priority", "high"),)
    assert cfg.bulk[2].label is not None


@pytest.mark.parametrize(
    ("old", "new", "code", "path", "hint"),
    [
        ("- transition: submit", "- transition: sumbit", "bulk-action", f"{BULK}[0].transition", "submit"),
        ("{set: {priority: high}", "{set: {priority: highest}", "bulk-action", f"{BULK}[2].set.priority", ""),
        ("{set: {priority: high}", "{set: {priorty: high}", "bulk-action", f"{BULK}[2].set.priorty", "priority"),
        ("{set: {priority: high}", "{set: {status: draft}", "bulk-action", f"{BULK}[2].set.status", "transition"),
        ("{set: {priority: high}", "{set: {account: $actor.id}", "bulk-action", f"{BULK}[2].set.account", "$actor.account"),
        ("- transition: cancel", "- transition: submit", "bulk-action", f"{BULK}[1]", "once"),
        ("            - export", "            - archive", "schema", f"{BULK}[4]", ""),
        ("- transition: submit", "- {transition: submit, set: {note: x}}", "schema", f"{BULK}[0]", ""),
    ],
)  # fmt: skip
def test_bulk_mistakes_are_located(
    checker: Checker, old: str, new: str, code: str, path: str, hint: str
) -> None:
    found, line = problems(checker, old, new)
    listing = "\n".join(p.format() for p in found)
    matching = [p for p in found if p.code.startswith(code) and p.path_text == path]
    assert matching, listing
    problem = matching[0]
    assert problem.file == "portal.yaml" and problem.line == line, listing
    assert hint in problem.hint, listing


def test_bulk_delete_needs_a_delete_grant(checker: Checker) -> None:
    old = "      - {roles: [buyer], actions: [delete], scope: {where: {account: $actor.account, status: draft}}}\n"
    found, _ = problems(checker, old, "")
    matching = [p for p in found if p.code == "bulk-action" and p.path_text == f"{BULK}[5]"]
    assert matching, "\n".join(p.format() for p in found)
    assert "delete" in matching[0].hint

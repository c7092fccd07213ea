"""`attachments:` on entities and the attachments block: the starter blueprint compiles them,
and each mistake is a problem with its code, file, line and path."""

from __future__ import annotations

from pathlib import Path

import pytest

from portalis.engine.definition.attachment_spec import DEFAULT_FOLDER, compile_attachments
from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.deploy.validator import Checked, Checker
from portalis.testing.portals import installed_checker

B2C = Path(__file__).resolve().parents[2] / "blueprints" / "b2c"
TICKET = "entities/ticket.yaml"
PAGES = "pages/tickets.yaml"


@pytest.fixture(scope="module")
def checker() -> Checker:
    return installed_checker()


def check(checker: Checker, name: str, old: str, new: str) -> tuple[Checked, int]:
    """The b2c blueprint with the first `old` in `name` replaced by `new`, and the line of it."""
    bundle, _ = read_bundle(B2C)
    files = dict(bundle.files)
    text = files[name]
    assert old in text, old
    files[name] = text.replace(old, new, 1)
    line = text[: text.index(old)].count("\n") + 1
    return checker.check_bundle(Bundle.of(files), {}), line


def test_the_blueprint_compiles_ticket_attachments(checker: Checker) -> None:
    checked, _ = check(
        checker, TICKET, "max_size_mb: 10\n      versions", "max_size_mb: 10\n      versions"
    )
    assert checked.report.problems == [] and checked.model is not None
    spec = checked.model.entities["ticket"].attachments
    assert spec is not None
    assert [f.name for f in spec.folders] == ["screenshots", "logs", "other"]
    assert spec.folders[0].label.get("de", "en") == "Bildschirmfotos"
    assert spec.max_bytes == 10 * 1024 * 1024 and spec.versions
    assert {"jpg", "jpeg"} <= spec.types  # either spelling allows both
    assert checked.model.entities["message"].attachments is None
    page = checked.model.pages["ticket"]
    assert [b.type for b in page.blocks][:2] == ["detail", "attachments"]


def test_defaults() -> None:
    spec = compile_attachments({})
    assert spec is not None
    assert [f.name for f in spec.folders] == [DEFAULT_FOLDER]
    assert "pdf" in spec.types and "html" not in spec.types and "svg" not in spec.types
    assert spec.max_files == 100 and spec.versions


@pytest.mark.parametrize(
    ("name", "old", "new", "code", "path"),
    [
        (
            TICKET,
            "        - {name: logs,",
            "        - {name: screenshots,",
            "attachments-folder-duplicate",
            "entities.ticket.attachments.folders[1]",
        ),
        (
            TICKET,
            "types: [png, jpg, gif, pdf, txt, log, csv]",
            "types: [png, jpg, exe]",
            "attachments-type",
            "entities.ticket.attachments.types[2]",
        ),
        (
            TICKET,
            "      versions: true",
            "      versions: yes",
            "schema",
            "entities.ticket.attachments.versions",
        ),
        (
            PAGES,
            "      - attachments: {entity: ticket}",
            "      - attachments: {entity: message}",
            "attachments-undeclared",
            "pages.ticket.blocks[1].attachments.entity",
        ),
        (
            PAGES,
            "      - list:\n          entity: ticket",
            "      - attachments: {entity: ticket}\n      - list:\n          entity: ticket",
            "block-route",
            "pages.tickets.blocks[0].attachments",
        ),
    ],
)
def test_mistakes_are_located_problems(
    checker: Checker, name: str, old: str, new: str, code: str, path: str
) -> None:
    checked, line = check(checker, name, old, new)
    found = [p for p in checked.report.problems if p.path_text == path]
    assert found, checked.report.problems
    problem = found[0]
    assert code == "schema" or problem.code == code, problem
    assert problem.file == name and problem.line == line

"""Computed fields never show a reader what their grant hides (SQLite and PostgreSQL).

The review's case: a virtual field `compute: "str(record['assignee'])"` showed Nina, a
customer whose grant excepts `assignee`, the assignee of her ticket; `str(record)` printed
every field. Now a virtual field is evaluated on the reader's masked record, a stored one
that would carry a hidden field is a validation error, and `str(record)` prints no fields.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from portalis.engine.deploy.validator import Checker
from portalis.engine.problems import Severity
from portalis.testing.portals import BLUEPRINTS
from portalis.testing.web import WebPortal

API = "/api/v1"
ANCHOR = "      resolution:\n"


def with_fields(folder: Path, fields: str) -> Path:
    """A copy of the starter with extra ticket fields (YAML indented by six spaces)."""
    shutil.copytree(BLUEPRINTS / "b2c", folder)
    entity = folder / "entities" / "ticket.yaml"
    text = entity.read_text(encoding="utf-8")
    assert ANCHOR in text, "the starter's ticket fields changed: update this test"
    entity.write_text(text.replace(ANCHOR, fields + ANCHOR, 1), encoding="utf-8")
    return folder


VIRTUAL = """\
      assignee_text: {type: string, stored: false, compute: "str(record['assignee'])"}
      dump: {type: string, stored: false, max_length: 2000, compute: "str(record)"}
"""


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    folder = with_fields(tmp_path / "def", VIRTUAL)
    portal = WebPortal.deploy(database_url, tmp_path / "instance", folder)
    yield portal
    portal.close()


def test_review_2_virtual_field_sees_only_readable_fields(web: WebPortal) -> None:
    t4 = web.record_id("ticket", subject="Outage in the order portal")
    sam_id = web.record_id("user", email="sam@support.test")
    nina = web.client("nina@globex.test").get(f"{API}/ticket/{t4}").get_json()
    assert "assignee" not in nina
    assert nina["assignee_text"] in (None, "None")
    assert str(sam_id) not in str(nina.get("assignee_text"))
    sam = web.client("sam@support.test").get(f"{API}/ticket/{t4}").get_json()
    assert sam["assignee_text"] == str(sam_id)  # the agent reads the assignee


def test_review_2_str_of_record_dumps_no_field(web: WebPortal) -> None:
    t4 = web.record_id("ticket", subject="Outage in the order portal")
    for email in ("nina@globex.test", "sam@support.test"):
        record = web.client(email).get(f"{API}/ticket/{t4}").get_json()
        assert record["dump"] == "<record>"
    page = web.client("nina@globex.test").get(f"/tickets/{t4}").get_data(as_text=True)
    assert "Orders fail since 9:00" in page  # her own ticket's body is shown …
    assert page.count("Orders fail since 9:00") == 1  # … once, not again inside `dump`


def problems_of(folder: Path, checker: Checker) -> list[tuple[str, str, int, str]]:
    report = checker.check_dir(folder).report
    return [(p.code, p.severity.value, p.line, p.file) for p in report.problems]


def test_review_2_virtual_field_reading_hidden_field_is_a_warning(
    tmp_path: Path, portalis_checker: Checker
) -> None:
    folder = with_fields(tmp_path / "def", VIRTUAL)
    report = portalis_checker.check_dir(folder).report
    found = [p for p in report.problems if p.code == "computed-reads-hidden"]
    assert {p.severity for p in found} == {Severity.WARNING}
    assert report.ok  # a warning: the store masks what the virtual field reads
    lines = (folder / "entities" / "ticket.yaml").read_text(encoding="utf-8").splitlines()
    by_field = {p.path[3]: p for p in found}
    assert set(by_field) == {"assignee_text", "dump"}
    assert "assignee_text" in lines[by_field["assignee_text"].line - 1]
    assert by_field["assignee_text"].file == "entities/ticket.yaml"
    # one warning per grant that hides the field: the customers' and the holding admins'
    messages = [p.message for p in found if p.path[3] == "assignee_text"]
    assert all("assignee" in m for m in messages)
    assert any("customer" in m for m in messages) and any("account_tree" in m for m in messages)


def test_review_2_stored_field_reading_hidden_field_is_an_error(
    tmp_path: Path, portalis_checker: Checker
) -> None:
    folder = with_fields(
        tmp_path / "def",
        "      assignee_copy: {type: string, compute: \"str(record['assignee'])\"}\n",
    )
    report = portalis_checker.check_dir(folder).report
    found = [p for p in report.problems if p.code == "computed-reads-hidden"]
    # one error per grant that hides assignee (the customers' and the holding admins')
    assert len(found) == 2 and {p.severity for p in found} == {Severity.ERROR}
    assert {p.line for p in found} == {found[0].line}  # both point at the computed field
    assert not report.ok
    line = (
        (folder / "entities" / "ticket.yaml")
        .read_text(encoding="utf-8")
        .splitlines()[found[0].line - 1]
    )
    assert "assignee_copy" in line and found[0].col > 0
    assert "hide assignee_copy" in found[0].hint


def test_review_2_stored_field_reading_whole_record_is_an_error(
    tmp_path: Path, portalis_checker: Checker
) -> None:
    folder = with_fields(
        tmp_path / "def",
        '      keys: {type: string, max_length: 2000, compute: "str([k for k in record])"}\n',
    )
    found = [
        p
        for p in portalis_checker.check_dir(folder).report.problems
        if p.code == "computed-reads-hidden"
    ]
    assert found and found[0].severity is Severity.ERROR
    assert "assignee" in found[0].message


def test_review_2_computed_from_readable_fields_is_fine(
    tmp_path: Path, portalis_checker: Checker
) -> None:
    folder = with_fields(
        tmp_path / "def",
        "      label_text: {type: string, compute: \"record['subject'] + ' (' + "
        "record['status'] + ')'\"}\n",
    )
    report = portalis_checker.check_dir(folder).report
    assert [p.code for p in report.problems] == []

"""`default: {expr: ...}` on SQLite and PostgreSQL: evaluated when a record is created, for the
fields the input leaves out, seeing the values so far and the creating actor; cleaned by the
field type; a failure is that field's error; what a new record's form shows first."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from derived_defs import deploy_text

from portalis.engine.data.errors import ValidationFailed
from portalis.engine.deploy.validator import Checker
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import actor_for

PORTAL = """\
format: portalis/v1
portal: notes
title: Notes
locales: [en]
roles:
  writer: {label: Writer}
entities:
  note:
    title_field: title
    fields:
      title: {type: string, required: true}
      day: {type: date, default: {expr: "today()"}}
      author: {type: string, default: {expr: "actor.name"}, readonly: true}
      code: {type: string, default: {expr: "'N-' + record['title'].upper()"}}
      size: {type: int, default: {expr: "len(record['code'])"}}
      priority: {type: choice, options: [low, high], default: low}
      due: {type: date, required: true, default: {expr: "'2031-01-15'"}}
    permissions:
      - {roles: [writer], actions: [read, create, update], scope: all}
  draft:
    fields:
      title: {type: string}
      words: {type: int, default: {expr: "record['title'] + 1"}}
      when: {type: date, default: {expr: "'not a date'"}}
    permissions:
      - {roles: [writer], actions: [read, create], scope: all}
seed: [seed.yaml]
"""
SEED = """\
users:
  - {email: wim@notes.test, name: Wim Writer, roles: [writer]}
"""


@pytest.fixture
def portal(db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path) -> CompiledPortal:
    return deploy_text(db_engine, portalis_checker, tmp_path / "notes", PORTAL, SEED)


def test_defaults_are_evaluated_at_insert(portal: CompiledPortal, db_engine: sa.Engine) -> None:
    store = portal.store(db_engine)
    wim = actor_for(db_engine, portal, "wim@notes.test")
    note = store.insert(wim, "note", {"title": "shopping"})
    assert note["day"] == date.today()
    assert note["author"] == "Wim Writer"  # the actor; readonly fields get defaults too
    assert note["code"] == "N-SHOPPING"  # sees the input
    assert note["size"] == 10  # and the defaults before it
    assert note["priority"] == "low"  # literal defaults stay as they were
    assert note["due"] == date(2031, 1, 15)  # cleaned by the field type (text → date)


def test_given_input_wins(portal: CompiledPortal, db_engine: sa.Engine) -> None:
    store = portal.store(db_engine)
    wim = actor_for(db_engine, portal, "wim@notes.test")
    note = store.insert(
        wim, "note", {"title": "x", "day": "2030-05-01", "code": "MINE", "size": None}
    )
    assert note["day"] == date(2030, 5, 1) and note["code"] == "MINE"
    assert note["size"] is None  # an explicit empty value is an answer, not an omission
    # defaults only start a record: an update leaves the fields alone
    updated = store.update(wim, "note", note.id, {"title": "renamed"})
    assert updated["code"] == "MINE" and updated["day"] == date(2030, 5, 1)


def test_a_failing_default_is_a_field_error(portal: CompiledPortal, db_engine: sa.Engine) -> None:
    store = portal.store(db_engine)
    wim = actor_for(db_engine, portal, "wim@notes.test")
    with pytest.raises(ValidationFailed) as refused:
        store.insert(wim, "draft", {"title": "one"})
    errors = refused.value.errors
    assert [m.code for m in errors["words"]] == ["expression-failed"]
    assert "the default could not be computed" in errors["words"][0].text()
    assert [m.code for m in errors["when"]] == ["expression-failed"]
    # giving the values skips the defaults altogether
    draft = store.insert(wim, "draft", {"title": "two", "words": 2, "when": "2030-01-01"})
    assert draft["words"] == 2


def test_initial_values_for_a_new_form(portal: CompiledPortal, db_engine: sa.Engine) -> None:
    store = portal.store(db_engine)
    wim = actor_for(db_engine, portal, "wim@notes.test")
    values = store.initial_values(wim, "note", {"title": "abc"})
    assert values["day"] == date.today() and values["author"] == "Wim Writer"
    assert values["code"] == "N-ABC" and values["size"] == 5 and values["priority"] == "low"
    # without a title the dependent defaults cannot be computed: they start empty
    values = store.initial_values(wim, "note")
    assert values["code"] is None and values["size"] is None
    broken = store.initial_values(wim, "draft")
    assert broken["words"] is None and broken["when"] is None

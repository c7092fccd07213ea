"""WTForms form classes: built once per published version, never per request; and a plugin's
field type brings its own WTForms field into the record forms.

The plugin of these tests adds two field types: `rating` (a whole number from 1 to 5) whose
WTForms field — an `IntegerField` with a `NumberRange` — comes through the
`portalis_form_fields` hook, and `remark` (text) whose type carries its own `form_field` (a
two-row `TextAreaField`). Both end up in the ticket form of the starter portal: drawn by
their own widgets inside the portal's field markup (label, help, error linked through
`aria-describedby`), WTForms' conversion and validator messages shown next to the field, the
value stored through the record store.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from wtforms import IntegerField, TextAreaField
from wtforms.fields.core import UnboundField
from wtforms.validators import NumberRange

from portalis.api import Field, hookimpl
from portalis.engine.data.db import create_engine
from portalis.engine.definition.fieldtypes import IntType, TextType
from portalis.engine.deploy.validator import Checker
from portalis.runtime import default_plugins
from portalis.runtime.app import create_app
from portalis.runtime.forms.record import PortalForms, RecordForm
from portalis.runtime.settings import Settings
from portalis.testing.portals import b2c_with, deploy_dir, migrate_db
from portalis.testing.web import PortalClient, WebPortal

SLUG = "acme-support"


class RatingType(IntType):
    """A whole number of stars; its form field comes from the plugin's hook."""

    name = "rating"
    description = "From 1 to 5 stars."


class RemarkType(TextType):
    """A short remark; the type brings its own form field."""

    name = "remark"
    description = "A short remark."

    def form_field(self, field: Field) -> UnboundField[Any]:
        """Two rows are enough for a remark."""
        return UnboundField(TextAreaField, render_kw={"rows": "2", "class": "remark"})


def rating_field(field: Field) -> UnboundField[Any]:
    """Stars: a number input, 1 to 5 (WTForms converts and checks the range)."""
    return UnboundField(
        IntegerField,
        validators=[NumberRange(min=1, max=5)],
        render_kw={"min": "1", "max": "5"},
    )


class StarsPlugin:
    """The test plugin: two field types and the WTForms field of one of them."""

    @hookimpl
    def portalis_field_types(self) -> list[Any]:
        return [RatingType(), RemarkType()]

    @hookimpl
    def portalis_form_fields(self) -> Mapping[str, Any]:
        return {"rating": rating_field}


def with_stars(target: Path) -> Path:
    """b2c with `stars` (rating) and `remark` on tickets, both in the new-ticket form."""
    b2c_with(target, invoices=False)  # the manager here loads no entry point: no payments
    entity = target / "entities" / "ticket.yaml"
    entity.write_text(
        entity.read_text().replace(
            "    fields:\n",
            "    fields:\n"
            "      stars:\n"
            "        type: rating\n"
            "        help: {en: How happy are you?}\n"
            "        label: {en: Stars, de: Sterne}\n"
            "      remark:\n"
            "        type: remark\n"
            "        label: {en: Remark, de: Bemerkung}\n",
            1,
        )
    )
    pages = target / "pages" / "tickets.yaml"
    pages.write_text(
        pages.read_text().replace(
            "fields: [subject, body, priority,", "fields: [subject, stars, remark, body, priority,"
        )
    )
    return target


@pytest.fixture
def stars(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    pm = default_plugins.plugin_manager(extra=[StarsPlugin()], load_entrypoints=False)
    engine = create_engine(database_url)
    try:
        deploy_dir(engine, Checker(pm), with_stars(tmp_path / "def"))
        migrate_db(engine)
    finally:
        engine.dispose()
    settings = Settings.from_env(
        {"PORTALIS_DATABASE_URL": database_url, "PORTALIS_INSTANCE_PATH": str(tmp_path)},
        testing=True,
        version_check_seconds=0,
    )
    app = create_app(settings, pm=pm)
    yield app
    app.extensions["portalis"].engine.dispose()


def field_html(page: str, name: str) -> str:
    """The `<div class="field …">` of input `name` of the first form block."""
    match = re.search(
        rf'<div class="field[^"]*">(?:(?!<div class="field).)*?name="{name}".*?</div>', page, re.S
    )
    assert match, name
    return match.group(0)


def test_plugin_field_types_bring_their_wtforms_fields(stars: Flask) -> None:
    ben = PortalClient(stars, SLUG).login("ben@acme.test")
    page = ben.get("/tickets/new").text
    rating = field_html(page, "stars")
    assert '<label for="b0-stars">Stars</label>' in rating
    # the plugin's IntegerField draws itself (WTForms' attribute order), with the portal's state
    control = re.search(r"<input [^>]*>", rating)
    assert control, rating
    for attr in ('id="b0-stars"', 'name="stars"', 'type="number"', 'min="1"', 'max="5"',
                 'aria-describedby="b0-stars-help"'):  # fmt: skip
        assert attr in control.group(0), attr
    assert '<p class="help" id="b0-stars-help">How happy are you?</p>' in rating
    remark = field_html(page, "remark")
    assert remark.startswith('<div class="field field-textarea">')  # kind from its widget
    assert re.search(r'<textarea [^>]*class="remark"[^>]*name="remark"[^>]*rows="2"', remark)

    def create(**values: str) -> Any:
        return ben.post("/tickets/new", {"_block": "0", "subject": "Rated", **values})

    for typed, message in (("lots", "Not a valid integer value."), ("9", "between 1 and 5.")):
        refused = create(stars=typed, remark="kept")
        assert refused.status_code == 422
        field = field_html(refused.text, "stars")
        assert (
            'aria-invalid="true"' in field
            and 'aria-describedby="b0-stars-help b0-stars-error"' in field
        )
        assert re.search(rf'<p class="field-error" id="b0-stars-error">[^<]*{message}', field), (
            field
        )
        assert f'value="{typed}"' in field  # what was typed comes back
        assert "kept</textarea>" in field_html(refused.text, "remark")
    created = create(stars="4", remark="Quick and kind")
    assert created.status_code == 303, created.text
    shown = ben.get(created.headers["Location"].split(f"/{SLUG}", 1)[1]).text
    assert "Quick and kind" in shown
    web = WebPortal(stars, stars.extensions["portalis"].registry.require(SLUG).compiled)
    ticket = web.store.get(
        web.actor("ben@acme.test"), "ticket", web.record_id("ticket", subject="Rated")
    )
    assert ticket["stars"] == 4 and ticket["remark"] == "Quick and kind"
    # a German reader gets WTForms' own messages in German
    german = ben.post("/tickets/new?lang=de", {"_block": "0", "subject": "x", "stars": "viele"})
    assert "Keine gültige, ganze Zahl." in field_html(german.text, "stars")


def form_classes() -> set[type]:
    """The record form classes alive now, and their subclasses."""
    direct = RecordForm.__subclasses__()
    return set(direct) | {sub for cls in direct for sub in cls.__subclasses__()}


def test_form_classes_are_built_once_per_version(web_b2c: WebPortal) -> None:
    web = web_b2c
    registry = web.app.extensions["portalis"].registry
    portal = registry.require(web.slug)
    forms = portal.forms
    assert isinstance(forms, PortalForms)
    built = forms.built
    assert built >= 3  # the ticket form, the message form, the transitions with inputs
    classes = form_classes()
    ben, sam = web.client("ben@acme.test"), web.client("sam@support.test")
    ticket = web.record_id("ticket", subject="Cannot download my contract")
    for _ in range(3):
        assert ben.get("/tickets/new").status_code == 200
        assert ben.post("/tickets/new", {"_block": "0", "subject": ""}).status_code == 422
        assert (
            ben.post("/tickets/new", {"_block": "0", "subject": "Per request?"}).status_code == 303
        )
        assert sam.get(f"/tickets/{ticket}").status_code == 200
        assert ben.get(f"/tickets/{ticket}/edit").status_code == 200
    version = registry.require(web.slug).version
    assert registry.require(web.slug).forms is forms  # the same version, the same classes
    assert forms.built == built
    # no class was made by the requests (classes of other tests' apps may be collected meanwhile,
    # so compare which classes exist, not how many)
    assert form_classes() - classes == set()
    assert version == portal.version


@pytest.fixture
def web_b2c(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    web = WebPortal.deploy(database_url, tmp_path)
    yield web
    web.close()

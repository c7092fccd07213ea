"""Sequence fields: formats and their definition problems, numbering on create (seed data
included) with yearly, monthly and no reset, failed creates that give their number back, and
R7-style concurrency — on SQLite and PostgreSQL. The portal is tests/engine/portals/numbering.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.engine.data import store as store_module
from portalis.engine.data.errors import NON_FIELD, ValidationFailed
from portalis.engine.data.permissions import Actor
from portalis.engine.data.sequences import counters
from portalis.engine.data.store import RecordStore
from portalis.engine.definition.bundle import Bundle
from portalis.engine.definition.fields import FieldValueError
from portalis.engine.definition.fieldtypes import SequenceType
from portalis.engine.definition.fieldtypes.sequence_format import FormatError, parse_format
from portalis.engine.definition.model import Field
from portalis.engine.definition.values import Label
from portalis.engine.deploy.validator import Checker
from portalis.engine.portal import CompiledPortal
from portalis.engine.problems import Problem
from portalis.testing.portals import actor_for, deploy_dir

FOLDER = Path(__file__).parent / "portals" / "numbering"
PORTAL = (FOLDER / "portal.yaml").read_text(encoding="utf-8")
SEED = (FOLDER / "seed.yaml").read_text(encoding="utf-8")
INVOICE_FIELD = 'number: {type: sequence, format: "INV-{year}-{seq:05d}", reset: yearly,'


# -- formats -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "number", "expected"),
    [
        ("INV-{year}-{seq:05d}", 7, "INV-2026-00007"),
        ("DN-{year}{month}-{seq:04d}", 12, "DN-202603-0012"),
        ("{day}.{month:d}.{year} #{seq}", 5, "04.3.2026 #5"),
        ("M{seq:6d}", 42, "M    42"),
        ("{seq:03d}", 12345, "12345"),  # a width is a minimum: numbers outgrow it
        ("{{{seq}}} }}{{", 3, "{3} }{"),
    ],
)
def test_format_renders_its_tokens(text: str, number: int, expected: str) -> None:
    assert parse_format(text).render(number, date(2026, 3, 4)) == expected


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("INV-{yaer}-{seq}", "unknown token {yaer} at character 5", "did you mean {year}?"),
        (
            "INV-{seq!r}",
            "unknown token {seq!r}",
            "the tokens are {seq} (the running number), {year}",
        ),
        ("INV-{0}", "unknown token {0}", "write {{ and }} for literal braces"),
        ("INV-{year}", "the format has no {seq}", "such as INV-{year}-{seq:05d}"),
        ("{seq}-{seq}", "{seq} more than once", "keep one {seq}"),
        ("{seq:x}", "{seq:x} at character 1 has an invalid spec 'x'", "{seq:05d} pads"),
        ("{seq:021d}", "invalid spec '021d'", "1 to 20 digits"),
        ("{seq:}", "invalid spec ''", "leave the spec out ({seq})"),
        ("{seq:.2f}", "invalid spec '.2f'", ""),
        ("INV-{seq", "'{' at character 5 is not closed", "write {{ for a literal {"),
        ("INV-}{seq}", "'}' at character 5 has no opening '{'", "write }} for a literal }"),
        ("{seq:{year}}", "'{' at character 1 is not closed", ""),
        ("x" * 90 + "{seq}", "can be 109 characters long", "shorten"),
    ],
)
def test_format_mistakes_are_named(text: str, message: str, hint: str) -> None:
    with pytest.raises(FormatError) as refused:
        parse_format(text)
    assert message in str(refused.value)
    assert hint in refused.value.hint


@pytest.mark.parametrize(
    ("reset", "period"), [("never", "all"), ("yearly", "2091"), ("monthly", "2091-02")]
)
def test_each_reset_has_its_own_counter_per_period(reset: str, period: str) -> None:
    options = {"format": "{year}{month}-{seq}", "reset": reset}
    config = SequenceType().make_config(options, currency="EUR")
    assert config.period(date(2091, 2, 3)) == period


def test_values_are_single_lines_of_text() -> None:
    kind = SequenceType()
    field = Field("number", "sequence", Label.of("Number"), kind, kind.make_config({}, currency=""))
    assert kind.clean(field, " INV-2091-00001 ") == "INV-2091-00001"
    assert kind.clean(field, "") is None
    for wrong in (42, "INV\n1", "x" * 101):
        with pytest.raises(FieldValueError):
            kind.clean(field, wrong)


# -- definition problems (file:line:col) -----------------------------------------------------
def check_text(checker: Checker, portal: str, seed: str = SEED) -> list[Problem]:
    bundle = Bundle.of({"portal.yaml": portal, "seed.yaml": seed})
    return checker.check_bundle(bundle).report.problems


def located(problems: list[Problem]) -> list[tuple[str, str, int, int, str]]:
    return [(p.code, p.file, p.line, p.col, ".".join(map(str, p.path))) for p in problems]


def line_of(text: str, fragment: str) -> tuple[int, int]:
    """(line, column) of `fragment` in `text`, both counted from 1."""
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            return number, line.index(fragment) + 1
    raise AssertionError(f"{fragment!r} not in the text")


def test_the_numbering_portal_is_valid(portalis_checker: Checker) -> None:
    assert check_text(portalis_checker, PORTAL) == []


def test_a_bad_format_is_located_with_a_hint(portalis_checker: Checker) -> None:
    portal = PORTAL.replace("INV-{year}-{seq:05d}", "INV-{yaer}-{seq:05d}")
    (problem,) = check_text(portalis_checker, portal)
    line, col = line_of(portal, '"INV-{yaer}')
    assert located([problem]) == [
        ("sequence-format", "portal.yaml", line, col, "entities.invoice.fields.number.format")
    ]
    assert problem.message == "format: unknown token {yaer} at character 5"
    assert problem.hint.startswith("did you mean {year}?")


@pytest.mark.parametrize(
    ("field", "shown"),
    [
        ('format: "INV-{seq:05d}", reset: yearly', "{year}"),
        ('format: "INV-{year}-{seq:05d}", reset: monthly', "{month}"),
        ('format: "INV-{month}-{seq:05d}", reset: monthly', "{year}"),
        ('format: "INV-{seq:05d}", reset: monthly', "{year} and {month}"),
    ],
)
def test_a_reset_the_format_does_not_show_repeats_numbers(
    portalis_checker: Checker, field: str, shown: str
) -> None:
    portal = PORTAL.replace('format: "INV-{year}-{seq:05d}", reset: yearly', field)
    (problem,) = check_text(portalis_checker, portal)
    line, col = line_of(portal, "reset: ")
    col += len("reset: ")  # problems point at the value
    assert located([problem]) == [
        ("sequence-reset", "portal.yaml", line, col, "entities.invoice.fields.number.reset")
    ]
    assert f"the format has no {shown}: numbers would repeat" in problem.message
    assert problem.hint.startswith(f"add {shown} to the format")


def test_without_a_reset_the_year_is_optional(portalis_checker: Checker) -> None:
    portal = PORTAL.replace('format: "INV-{year}-{seq:05d}", reset: yearly', 'format: "{seq}"')
    assert check_text(portalis_checker, portal) == []


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        ("required: true", "required", "a sequence field cannot be required"),
        ('default: "INV-1"', "default", "a sequence field has no default"),
        ('default: {expr: "today()"}', "default", "a sequence field has no default"),
        ("compute: \"'x'\"", "compute", "a sequence field cannot be computed"),
        (
            "visible_when: \"record['amount'] > 0\"",
            "visible_when",
            "a sequence field is always numbered",
        ),
        ("unique: false", "unique", "sequence numbers are always unique"),
    ],
)
def test_keys_a_number_assigned_on_create_cannot_have(
    portalis_checker: Checker, extra: str, key: str, message: str
) -> None:
    portal = PORTAL.replace(INVOICE_FIELD, f"{INVOICE_FIELD} {extra},")
    (problem,) = check_text(portalis_checker, portal)
    line, col = line_of(portal, extra)
    col += len(f"{key}: ")  # problems point at the value
    assert located([problem]) == [
        ("field-option", "portal.yaml", line, col, f"entities.invoice.fields.number.{key}")
    ]
    assert problem.message == message


def test_the_format_is_required(portalis_checker: Checker) -> None:
    portal = PORTAL.replace('format: "M{seq:06d}", ', "")
    codes = [p.code for p in check_text(portalis_checker, portal)]
    assert codes == ["schema-missing-key"]


def test_seed_files_cannot_give_a_number(portalis_checker: Checker) -> None:
    seed = SEED.replace("{key: second,", '{key: second, number: "INV-2026-00099",')
    (problem,) = check_text(portalis_checker, PORTAL, seed)
    line, col = line_of(seed, "number:")
    assert (problem.code, problem.file, problem.line, problem.col) == (
        "seed-invalid", "seed.yaml", line, col,
    )  # fmt: skip
    assert "number is numbered when the record is created" in problem.message


def test_workflow_actions_cannot_write_a_number(portalis_checker: Checker) -> None:
    portal = PORTAL.replace(
        "pages:\n",
        "automations:\n  renumber:\n    entity: invoice\n    on: update\n"
        '    actions:\n      - set: {number: "INV-0"}\npages:\n',
    )
    (problem,) = check_text(portalis_checker, portal)
    assert (problem.code, ".".join(map(str, problem.path))) == (
        "action-field-derived",
        "automations.renumber.actions.0.set.number",
    )
    assert "numbered when a record is created" in problem.message


# -- numbering on create (SQLite and PostgreSQL) -------------------------------------------
@dataclass
class Numbering:
    engine: sa.Engine
    portal: CompiledPortal
    store: RecordStore
    clara: Actor
    clock: list[datetime]

    def at(self, *when: int) -> None:
        """Create the next records at this UTC time."""
        self.clock[0] = datetime(*when, tzinfo=UTC)  # type: ignore[misc]

    def invoice(self, customer: str = "Acme", **values: Any) -> str:
        record = self.store.insert(self.clara, "invoice", {"customer": customer, **values})
        return str(record["number"])

    def numbers(self, entity: str, field: str = "number") -> list[str]:
        table = self.portal.tables[entity]
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(table.c[field]).order_by(table.c.id)).scalars())

    def counter(self, entity: str, period: str, field: str = "number") -> int | None:
        with self.engine.connect() as conn:
            return counters(conn, self.portal.slug).get((entity, field, period))


@pytest.fixture
def numbering(
    db_engine: sa.Engine,
    portalis_checker: Checker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Numbering]:
    folder = tmp_path / "numbering"
    shutil.copytree(FOLDER, folder)
    portal = deploy_dir(db_engine, portalis_checker, folder)  # seeded at the real time
    clock = [datetime.now(UTC)]
    # the store's clock: creation times (and so numbering periods) without sleeping
    monkeypatch.setattr(store_module, "utcnow", lambda: clock[0])
    yield Numbering(
        db_engine,
        portal,
        portal.store(db_engine),
        actor_for(db_engine, portal, "clara@numbering.test"),
        clock,
    )


def test_seed_records_are_numbered(numbering: Numbering) -> None:
    today = datetime.now(UTC).date()  # the deploy ran moments ago
    assert numbering.numbers("invoice") == [f"INV-{today.year}-00001", f"INV-{today.year}-00002"]
    assert numbering.numbers("delivery") == [f"DN-{today:%Y%m}-0001"]
    assert numbering.numbers("member", "card") == ["M001000"]  # start: 1000


def test_yearly_reset_follows_the_creation_date(numbering: Numbering) -> None:
    numbering.at(2091, 12, 31, 23, 59, 59)
    assert [numbering.invoice(), numbering.invoice()] == ["INV-2091-00001", "INV-2091-00002"]
    numbering.at(2092, 1, 1, 0, 0, 0)
    assert numbering.invoice() == "INV-2092-00001"
    numbering.at(2092, 6, 30, 12, 0, 0)
    assert numbering.invoice() == "INV-2092-00002"
    assert (numbering.counter("invoice", "2091"), numbering.counter("invoice", "2092")) == (2, 2)
    table = numbering.portal.tables["invoice"]
    with numbering.engine.connect() as conn:
        created = conn.execute(
            sa.select(table.c.created_at).where(table.c.number == "INV-2092-00001")
        ).scalar_one()
    assert (created.year, created.month, created.day) == (2092, 1, 1)


def test_monthly_reset_and_no_reset(numbering: Numbering) -> None:
    clara, store = numbering.clara, numbering.store
    invoice = store.insert(clara, "invoice", {"customer": "Acme"}).id
    made = []
    for when in [(2091, 1, 31, 23, 0), (2091, 1, 31, 23, 30), (2091, 2, 1, 0, 5), (2092, 1, 9, 8)]:
        numbering.at(*when)
        made.append(store.insert(clara, "delivery", {"invoice": invoice})["number"])
        made.append(store.insert(clara, "member", {"name": "M"})["card"])
    assert made[::2] == ["DN-209101-0001", "DN-209101-0002", "DN-209102-0001", "DN-209201-0001"]
    # never reset: one counter across years, after the seeded member's M001000
    assert made[1::2] == ["M001001", "M001002", "M001003", "M001004"]
    assert numbering.counter("member", "all", "card") == 1004


def test_a_refused_create_uses_no_number(numbering: Numbering) -> None:
    numbering.at(2093, 5, 1, 9, 0, 0)
    assert numbering.invoice() == "INV-2093-00001"
    with pytest.raises(ValidationFailed) as refused:
        numbering.invoice(amount=20000)  # the rule refuses it
    assert refused.value.errors[NON_FIELD][0].code == "rule"
    assert numbering.invoice() == "INV-2093-00002"
    assert numbering.counter("invoice", "2093") == 2


def test_a_rolled_back_create_gives_its_number_back(numbering: Numbering) -> None:
    numbering.at(2093, 5, 1, 9, 0, 0)
    store, clara = numbering.store, numbering.clara
    with pytest.raises(RuntimeError), store.write() as conn:
        taken = store.insert(clara, "invoice", {"customer": "Lost"}, conn=conn)
        assert taken["number"] == "INV-2093-00001"  # inserted, then the transaction fails
        raise RuntimeError("the request died before the commit")
    assert numbering.counter("invoice", "2093") is None
    assert numbering.invoice("Kept") == "INV-2093-00001"
    assert "Lost" not in [r["customer"] for r in store.list(clara, "invoice").records]


def test_nobody_writes_a_number(numbering: Numbering) -> None:
    store, clara = numbering.store, numbering.clara
    with pytest.raises(ValidationFailed) as create:
        store.insert(clara, "invoice", {"customer": "Acme", "number": "INV-1999-00001"})
    assert [m.code for m in create.value.errors["number"]] == ["not-writable"]
    first = store.list(clara, "invoice", sort="number").records[0]
    with pytest.raises(ValidationFailed) as update:
        store.update(clara, "invoice", first.id, {"number": "INV-1999-00001"})
    assert [m.code for m in update.value.errors["number"]] == ["not-writable"]
    # not even the system (automations, workflow actions)
    with pytest.raises(ValidationFailed):
        store.update(Actor.system(), "invoice", first.id, {"number": "X"})
    assert store.update(clara, "invoice", first.id, {"amount": 5})["number"] == first["number"]


def test_numbers_are_searched_sorted_and_unique(numbering: Numbering) -> None:
    numbering.at(2094, 3, 3, 3, 3, 3)
    numbering.invoice("Initech")
    store, clara = numbering.store, numbering.clara
    found = store.list(clara, "invoice", search="2094-0000").records
    assert [r["customer"] for r in found] == ["Initech"]
    ordered = [r["number"] for r in store.list(clara, "invoice", sort="-number").records]
    assert ordered == sorted(ordered, reverse=True) and ordered[0] == "INV-2094-00001"
    indexes = sa.inspect(numbering.engine).get_indexes(numbering.portal.tables["invoice"].name)
    assert any(ix["unique"] and ix["column_names"] == ["number"] for ix in indexes)


def test_a_number_taken_behind_the_counters_back_is_a_field_error(numbering: Numbering) -> None:
    numbering.at(2095, 1, 1, 1, 0, 0)
    table = numbering.portal.tables["invoice"]
    with numbering.engine.begin() as conn:  # an import that bypassed the store
        conn.execute(
            table.insert().values(
                number="INV-2095-00001", customer="Imported", version=1,
                created_at=numbering.clock[0], updated_at=numbering.clock[0],
            )
        )  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        numbering.invoice()
    assert [m.code for m in refused.value.errors["number"]] == ["unique"]
    assert numbering.counter("invoice", "2095") is None  # rolled back with the create


def test_deploy_numbers_records_that_have_no_number_oldest_first(
    db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path
) -> None:
    card = '      card: {type: sequence, format: "M{seq:06d}", start: 1000}\n'
    customer = "      customer: {type: string, required: true, max_length: 100}\n"
    legacy = '      legacy: {type: sequence, format: "L{year}-{seq}", reset: yearly}\n'
    assert card in PORTAL and customer in PORTAL
    folder = tmp_path / "numbering"
    old = deploy_dir(db_engine, portalis_checker, _write(folder, PORTAL.replace(card, "")))
    clara = actor_for(db_engine, old, "clara@numbering.test")
    invoices = old.tables["invoice"]
    with db_engine.begin() as conn:  # imported past the store: no numbers, the older one last
        for name, year in (("Late", 2091), ("Early", 2090)):
            at = datetime(year, 6, 1, tzinfo=UTC)
            row = {"customer": name, "version": 1, "created_at": at, "updated_at": at}
            conn.execute(invoices.insert().values(**row))
    # the next deploy adds two sequence fields and numbers whatever has no number
    portal = deploy_dir(
        db_engine, portalis_checker, _write(folder, PORTAL.replace(customer, customer + legacy))
    )
    store = portal.store(db_engine)
    rows = store.list(clara, "invoice", sort="id").records
    year = datetime.now(UTC).year  # the seeded invoices were created by the first deploy
    assert [(r["customer"], r["number"], r["legacy"]) for r in rows] == [
        ("Acme GmbH", f"INV-{year}-00001", f"L{year}-1"),
        ("Globex Ltd", f"INV-{year}-00002", f"L{year}-2"),
        ("Late", "INV-2091-00001", "L2091-1"),
        ("Early", "INV-2090-00001", "L2090-1"),
    ]
    assert [r["card"] for r in store.list(clara, "member").records] == ["M001000"]
    assert store.insert(clara, "member", {"name": "New"})["card"] == "M001001"
    before = counters_of(db_engine, portal)
    deploy_dir(db_engine, portalis_checker, folder, seed=True)  # nothing left to number
    assert counters_of(db_engine, portal) == before


def counters_of(engine: sa.Engine, portal: CompiledPortal) -> dict[tuple[str, str, str], int]:
    with engine.connect() as conn:
        return dict(counters(conn, portal.slug))


def _write(folder: Path, portal: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "portal.yaml").write_text(portal, encoding="utf-8")
    (folder / "seed.yaml").write_text(SEED, encoding="utf-8")
    return folder


# -- R7: concurrent creates ----------------------------------------------------------------
CREATES = 20
CRASHES = 10


def test_r7_twenty_concurrent_creates_are_numbered_1_to_20(numbering: Numbering) -> None:
    """20 creates and 10 that crash after taking their number, all at once, each in its own
    transaction on its own connection: the 20 get exactly 1..20, no gap, no duplicate."""
    numbering.at(2096, 7, 1, 12, 0, 0)
    store, clara = numbering.store, numbering.clara
    start = threading.Barrier(CREATES + CRASHES)

    def create(index: int) -> str | None:
        start.wait(timeout=30)
        try:
            with store.write() as conn:
                record = store.insert(clara, "invoice", {"customer": f"C{index}"}, conn=conn)
                if index < CRASHES:
                    raise RuntimeError("crashed before the commit")
                return str(record["number"])
        except RuntimeError:
            return None

    with ThreadPoolExecutor(CREATES + CRASHES) as pool:
        results = list(pool.map(create, range(CREATES + CRASHES)))

    committed = [n for n in results if n is not None]
    expected = [f"INV-2096-{n:05d}" for n in range(1, CREATES + 1)]
    assert sorted(committed) == expected
    stored = [n for n in numbering.numbers("invoice") if n.startswith("INV-2096-")]
    assert sorted(stored) == expected
    assert numbering.counter("invoice", "2096") == CREATES

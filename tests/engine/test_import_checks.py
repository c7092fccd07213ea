"""Validation of `import:` on list blocks (the imports test portal with one edit each): every
mistake is a located problem with a stable code, and the valid shape compiles to
`ListImport`. Also the file side without a database: encodings, delimiters, header matching
and locale-aware cells."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from portalis.engine.data.csv_read import CsvUnreadable, decode, guess_mapping, parse
from portalis.engine.data.csv_values import cell_value, date_value, number_text
from portalis.engine.data.errors import FieldMessage
from portalis.engine.definition.block_configs import ListBlock, ListImport
from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.deploy.validator import Checker
from portalis.engine.problems import Problem
from portalis.testing.portals import installed_checker

IMPORTS = Path(__file__).resolve().parents[1] / "runtime" / "data" / "imports"
PRODUCTS = "pages.products.blocks[0].list"
ORDERS = "pages.orders.blocks[0].list"


@pytest.fixture(scope="module")
def checker() -> Checker:
    return installed_checker()


def problems(checker: Checker, old: str, new: str) -> tuple[list[Problem], int]:
    bundle, _ = read_bundle(IMPORTS)
    files = dict(bundle.files)
    text = files["portal.yaml"]
    assert old in text, old
    files["portal.yaml"] = text.replace(old, new, 1)
    line = text[: text.index(old)].count("\n") + 1
    return list(checker.check_bundle(Bundle.of(files), {}).report.problems), line


def test_the_portal_compiles_its_imports(checker: Checker) -> None:
    bundle, _ = read_bundle(IMPORTS)
    checked = checker.check_bundle(bundle, {})
    assert list(checked.report.problems) == []
    model = checked.unwrap()
    products = model.pages["products"].blocks[0].config
    assert isinstance(products, ListBlock) and isinstance(products.csv_import, ListImport)
    # without fields: the list's columns
    assert products.csv_import.fields[:2] == ("sku", "name")
    assert products.csv_import.keys == (("category", "code"),)
    assert products.csv_import.batch == 10
    orders = model.pages["orders"].blocks[0].config
    assert isinstance(orders, ListBlock) and orders.csv_import is not None
    assert orders.csv_import.fields == ("reference", "note", "internal_note")
    assert orders.csv_import.batch == 500


@pytest.mark.parametrize(
    ("old", "new", "code", "path", "hint"),
    [
        ("import: {fields: [reference, note, internal_note]}", "import: {fields: [reference, nte]}",
         "ref-unknown-field", f"{ORDERS}.import.fields[1]", "note"),
        ("import: {fields: [reference, note, internal_note]}", "import: {fields: [reference, id]}",
         "block-option", f"{ORDERS}.import.fields[1]", ""),
        ("keys: {category: code}", "keys: {name: code}",
         "block-option", f"{PRODUCTS}.import.keys.name", "category"),
        ("keys: {category: code}", "keys: {category: cod}",
         "ref-unknown-field", f"{PRODUCTS}.import.keys.category", "code"),
        ("batch: 10", "batch: 5", "schema", f"{PRODUCTS}.import.batch", ""),
        ("batch: 10", "bach: 10", "schema", f"{PRODUCTS}.import", ""),
    ],
)  # fmt: skip
def test_import_mistakes_are_located(
    checker: Checker, old: str, new: str, code: str, path: str, hint: str
) -> None:
    found, line = problems(checker, old, new)
    listing = "\n".join(p.format() for p in found)
    matching = [p for p in found if p.code.startswith(code) and p.path_text.startswith(path)]
    assert matching, listing
    assert matching[0].file == "portal.yaml" and matching[0].line == line, listing
    assert hint in matching[0].hint, listing


def test_a_computed_field_is_no_import_column(checker: Checker) -> None:
    found, _ = problems(
        checker,
        "      internal_note: {type: string, label: {en: Internal note, de: Interne Notiz}}",
        '      internal_note: {type: string, compute: "record.note"}',
    )
    assert any(
        p.code == "block-option" and p.path_text == f"{ORDERS}.import.fields[2]" for p in found
    ), "\n".join(p.format() for p in found)


def test_encodings_and_delimiters() -> None:
    assert decode("\ufeffa;b\n".encode()) == "a;b\n"
    with pytest.raises(CsvUnreadable) as refused:
        decode("Müller".encode("latin-1"))
    assert refused.value.code == "encoding"
    semicolons = parse("sku;name\r\nA;Äpfel, rot\r\n\r\nB;x\r\n", max_rows=10)
    assert semicolons.delimiter == ";" and semicolons.rows == (("A", "Äpfel, rot"), ("B", "x"))
    commas = parse('sku,name\nA,"x; y"\n', max_rows=10)
    assert commas.delimiter == "," and commas.rows == (("A", "x; y"),)
    tabs = parse("sku\tname\nA\tB\n", max_rows=10)
    assert tabs.delimiter == "\t"
    with pytest.raises(CsvUnreadable) as many:
        parse("a\n1\n2\n3\n", max_rows=2)
    assert many.value.code == "rows"
    with pytest.raises(CsvUnreadable):
        parse("a,b\n1,2,3\n", max_rows=5)


def test_headers_match_names_and_labels_in_any_language(checker: Checker) -> None:
    bundle, _ = read_bundle(IMPORTS)
    model = checker.check_bundle(bundle, {}).unwrap()
    fields = list(model.entities["product"].fields.values())
    header = ["Artikelnummer", "NAME", "verfügbar ab", "Stock", "Kategorie", "SKU"]
    assert guess_mapping(header, fields) == {
        0: "sku", 1: "name", 2: "available_from", 3: "stock", 4: "category",
    }  # fmt: skip


def test_numbers_and_dates_in_the_readers_locale() -> None:
    assert number_text("1.234,50", "de") == "1234.50"
    assert number_text("1,234.50", "en") == "1234.50"
    assert number_text("12.50", "de") == "12.50"  # the machine format is understood too
    assert number_text("1 234,5", "fr") == "1234.5"
    assert number_text("abc", "de") is None
    assert date_value("07.12.2026", "de") == date(2026, 12, 7)
    assert date_value("07/12/2026", "fr") == date(2026, 12, 7)
    assert date_value("2026-12-07", "es") == date(2026, 12, 7)
    assert date_value("tomorrow", "en") is None


def test_cells_become_store_input(checker: Checker) -> None:
    bundle, _ = read_bundle(IMPORTS)
    model = checker.check_bundle(bundle, {}).unwrap()
    f = model.entities["product"].fields
    assert cell_value(f["price"], "1.234,50 €", "de") == "1234.50 EUR"
    assert cell_value(f["price"], "USD 3.10", "en") == "3.10 USD"
    assert cell_value(f["kind"], "dienstleistung", "de") == "service"
    assert cell_value(f["stock"], " ", "de") is None
    refused = cell_value(f["stock"], "viele", "de")
    assert isinstance(refused, FieldMessage) and refused.code == "type"


B2B = Path(__file__).resolve().parent / "portals" / "b2b"
QUICK_LINE = "quick: {field: product, key: sku, quantity: quantity}"
QUICK = "pages.new_order.blocks[0].form.lines.quick"


@pytest.mark.parametrize(
    ("new", "path", "hint"),
    [
        ("quick: {field: quantity}", f"{QUICK}.field", "product"),
        ("quick: {field: product, key: skew}", f"{QUICK}.key", "sku"),
        ("quick: {field: product, quantity: product}", f"{QUICK}.quantity", "quantity"),
    ],
)
def test_quick_entry_mistakes_are_located(checker: Checker, new: str, path: str, hint: str) -> None:
    bundle, _ = read_bundle(B2B)
    files = dict(bundle.files)
    text = files["portal.yaml"]
    line = text[: text.index(QUICK_LINE)].count("\n") + 1
    files["portal.yaml"] = text.replace(QUICK_LINE, new, 1)
    found = list(checker.check_bundle(Bundle.of(files), {}).report.problems)
    listing = "\n".join(p.format() for p in found)
    matching = [p for p in found if p.path_text == path]
    assert matching and matching[0].line == line, listing
    assert hint in matching[0].hint, listing


def test_the_b2b_order_form_compiles_its_quick_entry(checker: Checker) -> None:
    bundle, _ = read_bundle(B2B)
    model = checker.check_bundle(bundle, {}).unwrap()
    form = model.pages["new_order"].blocks[0].config
    assert form.lines is not None and form.lines.quick is not None
    assert (form.lines.quick.field, form.lines.quick.key) == ("product", "sku")

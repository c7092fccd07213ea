"""`printouts:` on entities and `attach:` on notifications: the wholesale portal compiles its
invoice and statement, and each mistake is a problem with its code, file, line and path (a
template that is not valid Jinja names the template's own line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.deploy.validator import Checked, Checker
from portalis.engine.expr.textmpl import TemplateProblem, compile_markup, render_text
from portalis.testing.portals import installed_checker

B2B = Path(__file__).resolve().parent / "portals" / "b2b"
PORTAL = "portal.yaml"


@pytest.fixture(scope="module")
def checker() -> Checker:
    return installed_checker()


def check(
    checker: Checker, old: str = "", new: str = "", files: dict[str, str] | None = None
) -> tuple[Checked, int]:
    """The wholesale portal with the first `old` of portal.yaml replaced by `new` (and
    `files` replaced or added), and the line of `old`."""
    bundle, _ = read_bundle(B2B)
    texts = dict(bundle.files)
    text = texts[PORTAL]
    assert old in text, old
    texts[PORTAL] = text.replace(old, new, 1)
    texts.update(files or {})
    line = text[: text.index(old)].count("\n") + 1 if old else 0
    return checker.check_bundle(Bundle.of(texts), {}), line


def test_the_wholesale_portal_compiles_its_printouts(checker: Checker) -> None:
    checked, _ = check(checker)
    assert checked.report.problems == [] and checked.model is not None
    model = checked.model
    invoice = model.entities["invoice"].printouts["invoice"]
    assert invoice.template == "printouts/invoice.html"
    assert invoice.filename == "{number}.pdf" and invoice.paper == "A4" and not invoice.landscape
    assert invoice.label.get("de", "en") == "Rechnung"
    assert [(x.name, x.entity, x.via) for x in invoice.lists] == [
        ("lines", "invoice_line", "invoice"),
        ("credits", "credit_memo", "invoice"),
        ("payments", "payment", "invoice"),
    ]
    assert "size: A4 portrait" in invoice.page_css
    statement = model.entities["account"].printouts["statement"]
    (invoices,) = statement.lists
    assert dict(invoices.where) == {"status": "issued"} and invoices.sort == "due"
    assert [x.name for x in invoices.lists] == ["payments"]
    assert model.notifications["invoice_issued"].attach == ("invoice",)
    assert model.entities["order"].printouts == {}


def test_paper_roles_and_condition_compile(checker: Checker) -> None:
    checked, _ = check(
        checker,
        '        filename: "{number}.pdf"\n',
        '        filename: "{number}.pdf"\n        paper: letter\n'
        "        orientation: landscape\n        roles: [clerk]\n"
        "        when: \"record.status == 'issued'\"\n",
    )
    assert checked.report.problems == [] and checked.model is not None
    printout = checked.model.entities["invoice"].printouts["invoice"]
    assert printout.paper == "letter" and printout.landscape
    assert printout.roles == frozenset({"clerk"}) and printout.when is not None
    assert "size: letter landscape" in printout.page_css


@pytest.mark.parametrize(
    ("old", "new", "code", "path"),
    [
        (
            "        template: printouts/invoice.html",
            "        template: printouts/invoce.html",
            "printout-template-missing",
            "entities.invoice.printouts.invoice.template",
        ),
        (
            '        filename: "{number}.pdf"',
            '        filename: "{numbr}.pdf"',
            "printout-filename",
            "entities.invoice.printouts.invoice.filename",
        ),
        (
            "          lines: {entity: invoice_line, via: invoice}",
            "          lines: {entity: invoice_line, via: price}",
            "printout-list-via",
            "entities.invoice.printouts.invoice.lists.lines.via",
        ),
        (
            "          lines: {entity: invoice_line, via: invoice}",
            "          lines: {entity: invoice_lines, via: invoice}",
            "ref-unknown-entity",
            "entities.invoice.printouts.invoice.lists.lines.entity",
        ),
        (
            "          lines: {entity: invoice_line, via: invoice}",
            "          lines: {entity: invoice_line, via: invoice, sort: -colour}",
            "printout-list-field",
            "entities.invoice.printouts.invoice.lists.lines.sort",
        ),
        (
            "            where: {status: issued}",
            "            where: {state: issued}",
            "printout-list-field",
            "entities.account.printouts.statement.lists.invoices.where.state",
        ),
        (
            "              payments: {entity: payment, via: invoice, sort: received}",
            "              payments: {entity: payment, via: invoice, lists: "
            "{more: {entity: payment, via: invoice}}}",
            "printout-list-depth",
            "entities.account.printouts.statement.lists.invoices.lists.payments.lists.more",
        ),
        (
            "    attach: [invoice]",
            "    attach: [invoices]",
            "printout-unknown",
            "notifications.invoice_issued.attach[0]",
        ),
        (
            '        filename: "{number}.pdf"',
            '        filename: "{number}.pdf"\n        roles: [clerks]',
            "ref-unknown-role",
            "entities.invoice.printouts.invoice.roles[0]",
        ),
        (
            '        filename: "{number}.pdf"',
            '        filename: "{number}.pdf"\n        paper: A7',
            "schema",
            "entities.invoice.printouts.invoice.paper",
        ),
        (
            '        filename: "{number}.pdf"',
            '        filename: "../{number}.pdf"',
            "schema",
            "entities.invoice.printouts.invoice.filename",
        ),
    ],
)
def test_mistakes_are_located_problems(
    checker: Checker, old: str, new: str, code: str, path: str
) -> None:
    checked, line = check(checker, old, new)
    found = [p for p in checked.report.problems if p.path_text.startswith(path)]
    assert found, checked.report.problems
    problem = found[0]
    assert code == "schema" or problem.code == code, problem
    assert problem.file == PORTAL
    if new.count("\n") == old.count("\n"):  # the changed line itself
        assert problem.line == line


def test_a_template_that_is_not_jinja_names_its_own_line(checker: Checker) -> None:
    bad = "<p>\n{{ record.number }}\n<b>{{ record.total + }}</b>\n</p>\n"
    checked, _ = check(checker, files={"printouts/invoice.html": bad})
    (problem,) = [p for p in checked.report.problems if p.code == "printout-template"]
    assert "line 3 of printouts/invoice.html" in problem.message, problem.message
    assert problem.path_text == "entities.invoice.printouts.invoice.template"
    assert checked.model is None


def test_asvs_1_3_7_printout_templates_render_in_the_sandbox() -> None:
    """SECURITY A.35: printout templates compile in the immutable sandbox and escape values."""
    with pytest.raises(TemplateProblem):
        render_text(compile_markup("{{ ''.__class__.__mro__ }}"), {})
    with pytest.raises(TemplateProblem):
        render_text(compile_markup("{{ record.update({'a': 1}) }}"), {"record": {}})
    escaped = render_text(compile_markup("<td>{{ text }}</td>"), {"text": "<script>x</script>"})
    assert escaped == "<td>&lt;script&gt;x&lt;/script&gt;</td>"

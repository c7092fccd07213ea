"""The `type: stripe` entry of `payments.providers`: schema, checks with located problems,
`${ENV}`-only secrets, the compiled config, and the plugin as its entry point installs it."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import portalis_stripe
import pytest
from portalis_stripe import STRIPE_SECTION, StripeConfig, StripeProvider

from portalis.api import PaymentProvider, Problem
from portalis.testing.portals import installed_checker, plugin_checker

ENV = {"STRIPE_SECRET_KEY": "sk_test_51Abc", "STRIPE_WEBHOOK_SECRET": "whsec_abc"}
ENTRY = """\
    - type: stripe
      label: {en: Card, de: Karte}
      secret_key: "${STRIPE_SECRET_KEY}"
      webhook_secret: "${STRIPE_WEBHOOK_SECRET}"
"""


def portal(folder: Path, entry: str = ENTRY) -> Path:
    """A small portal whose `payments.providers` holds `entry`."""
    folder.mkdir()
    (folder / "portal.yaml").write_text(
        "format: portalis/v1\n"
        "portal: pay-test\n"
        "title: Payments\n"
        "locales: [en, de]\n"
        "currency: EUR\n"
        "entities:\n"
        "  invoice:\n"
        "    fields:\n"
        "      number: {type: string}\n"
        "    permissions:\n"
        "      - {roles: [authenticated], actions: [read], scope: all}\n"
        "payments:\n"
        "  providers:\n" + entry,
        encoding="utf-8",
    )
    return folder


def problems(folder: Path, plugin: ModuleType = portalis_stripe) -> list[Problem]:
    return plugin_checker(plugin).check_dir(folder, env=ENV).report.problems


def at(folder: Path, fragment: str, line_with: str = "") -> tuple[int, int]:
    """(line, column) where `fragment` starts in portal.yaml (on the first line that also
    holds `line_with`), counted from 1."""
    lines = (folder / "portal.yaml").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if fragment in line and line_with in line:
            return number, line.index(fragment, line.index(line_with)) + 1
    raise AssertionError(f"{fragment!r} is not in portal.yaml")


def located(found: list[Problem]) -> list[tuple[str, str, int, int, str]]:
    return [(p.code, p.file or "", p.line or 0, p.col or 0, p.path_text) for p in found]


def test_a_valid_entry(tmp_path: Path) -> None:
    folder = portal(
        tmp_path / "p",
        ENTRY + "      api_base: https://api.stripe.com\n"
        "      tolerance_seconds: 120\n"
        "      payment_method_types: [card, sepa_debit]\n"
        "      statement_descriptor: ACME INVOICE 2026\n",
    )
    checked = plugin_checker(portalis_stripe).check_dir(folder, env=ENV)
    assert checked.report.problems == [] and checked.model is not None


def test_the_section_compiles_into_the_config() -> None:
    config = STRIPE_SECTION.compiled(
        {
            "secret_key": "sk_test_51Abc",
            "webhook_secret": "whsec_abc",
            "api_base": "http://127.0.0.1:12111/",
            "payment_method_types": ["card"],
            "statement_descriptor": "ACME",
        }
    )
    assert config == StripeConfig(
        "sk_test_51Abc",
        "whsec_abc",
        api_base="http://127.0.0.1:12111",
        tolerance_seconds=300,
        payment_method_types=("card",),
        statement_descriptor="ACME",
    )
    defaults = STRIPE_SECTION.compiled({"secret_key": "sk_1", "webhook_secret": "whsec_1"})
    assert isinstance(defaults, StripeConfig)
    assert (defaults.api_base, defaults.tolerance_seconds) == ("https://api.stripe.com", 300)
    assert (defaults.payment_method_types, defaults.statement_descriptor) == ((), None)
    assert "sk_test_51Abc" not in repr(config) and "whsec_abc" not in repr(config)
    hash(config)  # one client per config: configs are keys


def test_secrets_written_into_the_file_are_refused(tmp_path: Path) -> None:
    folder = portal(
        tmp_path / "p",
        "    - type: stripe\n"
        "      secret_key: sk_live_written_into_the_file\n"
        "      webhook_secret: whsec_written_too\n",
    )
    assert located(problems(folder)) == [
        ("secret-literal", "portal.yaml", *at(folder, "sk_live_"),
         "payments.providers[0].secret_key"),
        ("secret-literal", "portal.yaml", *at(folder, "whsec_written"),
         "payments.providers[0].webhook_secret"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("descriptor", "message"),
    [
        ('"ACME*INVOICE"', "statement_descriptor contains *, which Stripe refuses"),
        ("'ACME <INV>'", "statement_descriptor contains < >, which Stripe refuses"),
        ('"2026 0017"', "statement_descriptor has no letter; Stripe needs at least one"),
        ('"RECHNUNG MÜLLER"', "statement_descriptor has characters outside Latin letters"),
    ],
)
def test_a_bad_descriptor_is_located(tmp_path: Path, descriptor: str, message: str) -> None:
    folder = portal(tmp_path / "p", ENTRY + f"      statement_descriptor: {descriptor}\n")
    (found,) = problems(folder)
    assert located([found]) == [
        ("schema-format", "portal.yaml", *at(folder, descriptor),
         "payments.providers[0].statement_descriptor"),
    ]  # fmt: skip
    assert found.message.startswith(message)
    assert "22 Latin letters" in found.hint


def test_a_too_long_descriptor_is_a_schema_problem(tmp_path: Path) -> None:
    folder = portal(
        tmp_path / "p", ENTRY + "      statement_descriptor: ACME INVOICE NUMBER 2026\n"
    )
    (found,) = problems(folder)
    assert located([found]) == [
        ("schema-format", "portal.yaml", *at(folder, "ACME INVOICE NUMBER"),
         "payments.providers[0].statement_descriptor"),
    ]  # fmt: skip
    assert "longer than 22 characters" in found.message


@pytest.mark.parametrize(
    ("line", "fragment", "message"),
    [
        ("api_base: https://api.stripe.com/v1", "https://api", "api_base has a path"),
        ("api_base: ftp://api.stripe.com", "ftp://", "api_base is not an absolute https URL"),
        ("api_base: https://user:pw@api.stripe.com", "https://user", "api_base has credentials"),
        ("tolerance_seconds: 0", "0", "0 is less than 1"),
        ("payment_method_types: [Card]", "Card", "'Card' does not have the required form"),
        ("capture: manual", "capture", "capture"),
    ],
)
def test_other_bad_options_are_located(
    tmp_path: Path, line: str, fragment: str, message: str
) -> None:
    folder = portal(tmp_path / "p", ENTRY + f"      {line}\n")
    (found,) = problems(folder)
    assert (found.file, (found.line, found.col)) == ("portal.yaml", at(folder, fragment, line))
    assert message in found.message


def test_a_publishable_key_is_refused_without_quoting_it(tmp_path: Path) -> None:
    folder = portal(tmp_path / "p")
    checked = plugin_checker(portalis_stripe).check_dir(
        folder, env={**ENV, "STRIPE_SECRET_KEY": "pk_live_51Secret"}
    )
    (found,) = checked.report.problems
    assert (found.code, found.path_text) == ("schema-format", "payments.providers[0].secret_key")
    assert "publishable key" in found.message and "51Secret" not in found.message


def test_without_the_plugin_the_type_is_unknown(tmp_path: Path) -> None:
    """A portal that pays through Stripe is not served where the plugin is not loaded."""
    folder = portal(tmp_path / "p")
    found = plugin_checker().check_dir(folder, env=ENV).report.problems
    assert [p.path_text for p in found] == ["payments.providers[0].type"]


def test_the_installed_plugin_provides_the_section_and_the_provider() -> None:
    """`make venv` installs the distribution; its entry point registers both hooks."""
    checker = installed_checker()
    assert checker.sections.get("payment", "stripe") is STRIPE_SECTION
    providers = [p for found in checker.pm.hook.portalis_payment_providers() for p in found]
    (stripe_provider,) = [p for p in providers if p.name == "stripe"]
    assert isinstance(stripe_provider, StripeProvider)
    assert isinstance(stripe_provider, PaymentProvider)

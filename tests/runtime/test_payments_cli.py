"""`portalis payments reconcile|list` on SQLite and PostgreSQL, against the sandbox network.

The shop (pay_shop_support) is deployed and its payments made as the portal makes them;
checkouts, choices and refunds the portal never hears of are made at the sandbox, so each
kind of difference comes from a real disagreement between the two databases. The commands
run on a throwaway click group, as `cli/__init__.py` registers them on the real one, with
the servers' environment (the definition's secrets, the instance folder).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from pay_shop_support import ENV, SECRETS, SLUG, PayShop, served_shop
from portalis_payments_sandbox import SandboxProvider
from portalis_payments_sandbox import store as sandbox_store

from portalis.engine.deploy.validator import Checker
from portalis.engine.payments.provider import ProviderContext, ProviderPayment
from portalis.engine.plugins import hookimpl
from portalis.runtime import default_plugins
from portalis.runtime.cli import payments as payments_cli
from portalis.runtime.cli.payments import register_payment_commands

TODAY = datetime.now(UTC).strftime("%Y-%m-%d")


@pytest.fixture
def shop(database_url: str, tmp_path: Path) -> Iterator[PayShop]:
    with served_shop(database_url, tmp_path) as served:
        yield served


@dataclass
class Cli:
    """`portalis payments …` on the test database with the servers' environment."""

    database_url: str
    env: dict[str, str]

    def __call__(self, *args: str, env: Mapping[str, str | None] | None = None) -> Result:
        @click.group()
        def group() -> None:
            """A stand-in for the `portalis` group."""

        register_payment_commands(group)
        argv = ["payments", *args, "--database-url", self.database_url]
        return CliRunner().invoke(group, argv, env=self.env if env is None else env)


@pytest.fixture
def run(database_url: str, tmp_path: Path) -> Cli:
    return Cli(database_url, {**ENV, "PORTALIS_INSTANCE_PATH": str(tmp_path / "instance")})


def rows(output: str) -> list[list[str]]:
    """The table's rows (after the heading), split on runs of two or more blanks."""
    lines = [line for line in output.splitlines() if line.strip()]
    return [re.split(r"\s{2,}", line.strip()) for line in lines[1:]]


def by_kind(found: Iterable[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for item in found:
        out.setdefault(item["kind"], []).append(item)
    return out


def decide(shop: PayShop, reference: str, status: str = "succeeded") -> None:
    assert sandbox_store.decide(shop.engine, reference, status, datetime.now(UTC), method="card")


def test_reconcile_reports_each_kind_of_difference(shop: PayShop, run: Cli) -> None:
    agreed = shop.paid(shop.record(total="80.00"))
    # the sandbox has a paid checkout for a payment this portal never stored
    stray = shop.checkout_elsewhere("pay_" + "z" * 24, "12.00")
    decide(shop, stray.reference)
    # the portal was told of a success (an event) the sandbox does not list
    lonely = shop.start(shop.record(total="30.00"))
    assert shop.deliver(lonely).result == "applied"
    # the payer approved at the sandbox; the event never reached the portal
    unheard = shop.start(shop.record(total="40.00"))
    shop.choose(unheard)
    # both know the payment; a second checkout for it at the sandbox took another amount,
    # a third another currency
    short = shop.paid(shop.record(total="50.00"))
    decide(shop, shop.checkout_elsewhere(short.id, "45.00").reference)
    dollars = shop.paid(shop.record(total="60.00"))
    decide(shop, shop.checkout_elsewhere(dollars.id, "60.00", "USD").reference)
    # a refund made in the sandbox's dashboard the portal never heard of
    refunded = shop.paid(shop.record(total="70.00"))
    shop.refund_at_provider(refunded, "20.00")

    result = run("reconcile", SLUG, "--since", TODAY)
    assert result.exit_code == 1, result.output
    table = rows(result.stdout)
    assert result.stdout.splitlines()[0].split() == [
        "KIND", "PROVIDER", "REFERENCE", "PAYMENT", "OURS", "THEIRS"
    ]  # fmt: skip
    assert "6 difference(s)" in result.stderr
    found = {(r[0], r[3]): r for r in table}
    assert set(found) == {
        ("missing_here", "pay_" + "z" * 24),
        ("missing_there", lonely.id),
        ("status", unheard.id),
        ("amount", short.id),
        ("currency", dollars.id),
        ("refunded", refunded.id),
    }
    assert agreed.id not in result.stdout
    assert found[("missing_here", "pay_" + "z" * 24)] == [
        "missing_here", "sandbox", stray.reference, "pay_" + "z" * 24, "-", "12.00 EUR succeeded"
    ]  # fmt: skip
    assert found[("status", unheard.id)][4:] == ["open", "succeeded"]
    assert found[("amount", short.id)][4:] == ["50.00 EUR", "45.00 EUR"]
    assert found[("currency", dollars.id)][4:] == ["EUR", "USD"]
    assert found[("refunded", refunded.id)][4:] == ["0.00", "20.00"]
    assert found[("missing_there", lonely.id)][4] == "30.00 EUR succeeded"

    as_json = run("reconcile", SLUG, "--since", TODAY, "--json")
    assert as_json.exit_code == 1
    items = [json.loads(line) for line in as_json.stdout.splitlines()]
    kinds = by_kind(items)
    assert sorted(kinds) == ["amount", "currency", "missing_here", "missing_there", "refunded",
                             "status"]  # fmt: skip
    assert kinds["missing_here"][0] == {
        "kind": "missing_here", "provider": "sandbox", "reference": stray.reference,
        "payment_id": "pay_" + "z" * 24, "ours": "", "theirs": "12.00 EUR succeeded",
    }  # fmt: skip
    # nothing was changed: the same differences again
    assert run("reconcile", SLUG, "--since", TODAY).stdout == result.stdout


def test_reconcile_without_differences_and_since(shop: PayShop, run: Cli) -> None:
    shop.paid(shop.record(total="10.00"))
    wallet = shop.start(shop.record("order", total="25.00"), entity="order")
    shop.choose(wallet)
    assert shop.deliver(wallet).result == "applied"
    result = run("reconcile", SLUG, "--since", TODAY)
    assert (result.exit_code, result.stdout) == (0, "no differences\n"), result.output
    assert run("reconcile", SLUG, "--since", TODAY, "--json").stdout == ""
    # the wallet's account lists its own payments: a disagreement there names the wallet
    shop.refund_at_provider(wallet, "5.00")
    found = run("reconcile", SLUG, "--since", TODAY)
    assert found.exit_code == 1
    assert [r[:2] + r[3:4] for r in rows(found.stdout)] == [["refunded", "wallet", wallet.id]]
    # payments created before --since are not compared
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    assert run("reconcile", SLUG, "--since", tomorrow).exit_code == 0


def test_reconcile_usage_errors_exit_2(shop: PayShop, run: Cli) -> None:
    unknown = run("reconcile", "no-such-shop", "--since", TODAY)
    assert unknown.exit_code == 2
    assert "no portal 'no-such-shop' is deployed on this database" in unknown.output
    bad_date = run("reconcile", SLUG, "--since", "31.12.2026")
    assert bad_date.exit_code == 2
    assert "'31.12.2026' is not a date (YYYY-MM-DD)" in bad_date.output
    missing = run("reconcile", SLUG)
    assert missing.exit_code == 2 and "Missing option '--since'" in missing.output
    # the definition's secrets are not in this environment: the live version does not load
    unset: dict[str, str | None] = {"SHOP_SANDBOX_SECRET": None, "SHOP_WALLET_SECRET": None}
    bare = run("reconcile", SLUG, "--since", TODAY, env={**run.env, **unset})
    assert bare.exit_code == 2, bare.output
    assert "env-missing" in bare.output and "the live version does not load here" in bare.output


class ListlessSandbox(SandboxProvider):
    """The sandbox network without a list for the merchant accounts named in `without`
    (a network that offers reconciliation to some accounts only)."""

    def __init__(self, without: Iterable[str]) -> None:
        self.without = set(without)

    def list_payments(
        self, config: object, since: datetime, context: ProviderContext
    ) -> list[ProviderPayment] | None:
        if getattr(config, "secret", None) in self.without:
            return None
        return list(super().list_payments(config, since, context))


class ListlessPlugin:
    def __init__(self, provider: ListlessSandbox) -> None:
        self.provider = provider

    @hookimpl
    def portalis_payment_providers(self) -> list[ListlessSandbox]:
        return [self.provider]


def with_listless(monkeypatch: pytest.MonkeyPatch, without: Iterable[str]) -> None:
    """The command's plugins, with the sandbox type served by a `ListlessSandbox`."""
    pm = default_plugins.plugin_manager(extra=[ListlessPlugin(ListlessSandbox(without))])
    monkeypatch.setattr(payments_cli, "checker", lambda: Checker(pm))


def test_reconcile_names_providers_that_offer_no_list(
    shop: PayShop, run: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    unheard = shop.start(shop.record(total="40.00"))
    shop.choose(unheard)
    with_listless(monkeypatch, [SECRETS["wallet"]])
    some = run("reconcile", SLUG, "--since", TODAY)
    assert some.exit_code == 1, some.output
    assert "note: wallet (type sandbox) offers no list of its payments: not reconciled" in (
        some.stderr
    )
    assert [r[0] for r in rows(some.stdout)] == ["status"]
    with_listless(monkeypatch, SECRETS.values())
    none = run("reconcile", SLUG, "--since", TODAY)
    assert none.exit_code == 2, none.output
    assert (
        "error: no payment provider of pay-shop offers a list of its payments: "
        "sandbox (type sandbox), wallet (type sandbox)" in none.stderr
    )


def test_list_filters_by_status_provider_and_since(shop: PayShop, run: Cli) -> None:
    made = shop.assorted()
    first, failed, flagged, order = made.paid, made.declined, made.flagged, made.order

    listed = run("list", SLUG)
    assert listed.exit_code == 0, listed.output
    assert [r[1] for r in rows(listed.stdout)] == [order.id, flagged.id, failed.id, first.id]
    assert "4 payment(s)" in listed.stderr
    by_id = {r[1]: r for r in rows(listed.stdout)}
    assert by_id[first.id][2:7] == ["succeeded", "10.00 EUR", "sandbox", "card",
                                    f"invoice #{first.record_id}"]  # fmt: skip
    assert by_id[order.id][2:5] == ["open", "25.00 USD", "wallet"]
    assert (
        by_id[flagged.id][-1].startswith("event evt_")
        and "reported 3.00 EUR" in (by_id[flagged.id][-1])
    )
    only_flagged = run("list", SLUG, "--status", "flagged")
    assert [r[1] for r in rows(only_flagged.stdout)] == [flagged.id]
    wallet = run("list", SLUG, "--provider", "wallet", "--json")
    (item,) = [json.loads(line) for line in wallet.stdout.splitlines()]
    assert item["id"] == order.id and item["amount"] == "25.00" and item["currency"] == "USD"
    assert item["status"] == "open" and item["entity"] == "order"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    later = run("list", SLUG, "--since", tomorrow)
    assert later.exit_code == 0 and later.stdout == "" and "0 payment(s)" in later.stderr
    assert [r[1] for r in rows(run("list", SLUG, "--limit", "1").stdout)] == [order.id]
    assert run("list", SLUG, "--status", "paid").exit_code == 2
    unknown = run("list", "no-such-shop")
    assert unknown.exit_code == 2 and "no portal 'no-such-shop'" in unknown.output

"""`portalis payments reconcile|list`: a portal's online payments from the shell.

`reconcile` compares the payments stored since a date with what each provider of the
portal's live version lists (`portalis.engine.payments.reconcile`) and prints the
differences; it changes nothing. Its exit status tells a scheduled job what to do: 0 no
differences, 1 differences (money to look at), 2 it could not reconcile (a usage error, an
unknown portal, a definition that does not load, no provider that lists its payments, or a
provider that could not be reached). `list` shows the stored payments for operators.

The providers run in the context a server builds from the same environment
(`payments.setup.make_provider_context`): run the command with the servers' variables
(`PORTALIS_SECRET_KEY` or their instance folder, the definition's `${ENV}` secrets).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ..payments.listing import STATUSES
from .audit import parse_since
from .common import checker, database_option, open_engine, print_problems

if TYPE_CHECKING:
    import sqlalchemy as sa

    from portalis.engine.payments.reconcile import Difference
    from portalis.engine.payments.records import Payment
    from portalis.engine.payments.registry import BoundProvider

    from .payment_watch import ListWatch

#: Exit status: differences found; the reconciliation could not run.
DIFFERENCES, FAILED = 1, 2
#: The columns of the differences table: (heading, Difference attribute).
DIFFERENCE_COLUMNS = (
    ("KIND", "kind"),
    ("PROVIDER", "provider"),
    ("REFERENCE", "reference"),
    ("PAYMENT", "payment_id"),
    ("OURS", "ours"),
    ("THEIRS", "theirs"),
)
PAYMENT_COLUMNS = ("CREATED", "PAYMENT", "STATUS", "AMOUNT", "PROVIDER", "METHOD", "RECORD",
                   "REFERENCE", "FLAG")  # fmt: skip


def fail(message: str) -> NoReturn:
    """Print `error: message` and exit with status 2."""
    click.echo(f"error: {message}", err=True)
    sys.exit(FAILED)


@contextmanager
def _failing() -> Iterator[None]:
    """Engine errors as `error: …` and exit status 2 (never a traceback, never a 1, which
    says "differences")."""
    import sqlalchemy as sa

    from portalis.engine.data.errors import NotFound
    from portalis.engine.problems import DefinitionError, PortalisError

    try:
        yield
    except DefinitionError as exc:
        errors, _ = print_problems(exc.problems)
        fail(f"the live version does not load here ({errors} error(s) above)")
    except (NotFound, PortalisError) as exc:
        fail(str(exc))
    except sa.exc.SQLAlchemyError as exc:
        fail(f"database: {getattr(exc, 'orig', None) or exc}")


def _known_portal(engine: sa.Engine, slug: str) -> None:
    """Usage error (2) when no version of `slug` is live on this database."""
    import sqlalchemy as sa

    from portalis.engine.data.platform_tables import portals

    query = sa.select(portals.c.live_version).where(portals.c.slug == slug)
    with engine.connect() as conn:
        live = conn.execute(query).scalar() if sa.inspect(conn).has_table(portals.name) else None
    if live is None:
        raise click.BadParameter(
            f"no portal {slug!r} is deployed on this database", param_hint="PORTAL"
        )


def table(headings: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Rows under their headings, each column as wide as its widest cell."""
    body = [list(row) for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(headings)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
        for line in (list(headings), *body)
    ]


def difference_dict(difference: Difference) -> dict[str, str | None]:
    """A difference as JSON-ready data."""
    return {attr: getattr(difference, attr) for _, attr in DIFFERENCE_COLUMNS}


def payment_dict(payment: Payment) -> dict[str, Any]:
    """A payment as JSON-ready data (amounts as text: exact)."""
    return {
        "id": payment.id, "status": payment.status, "amount": str(payment.amount),
        "currency": payment.currency, "refunded": str(payment.refunded),
        "provider": payment.provider, "provider_type": payment.provider_type,
        "method": payment.method, "entity": payment.entity, "record_id": payment.record_id,
        "reference": payment.reference, "transaction": payment.transaction,
        "reason": payment.reason, "flag": payment.flag, "created_by": payment.created_by,
        "created_at": payment.created_at.isoformat(), "updated_at": payment.updated_at.isoformat(),
    }  # fmt: skip


def payment_row(payment: Payment) -> list[str]:
    """A payment as the cells of the list's table."""
    refunded = f" (-{payment.refunded})" if payment.refunded else ""
    return [
        payment.created_at.strftime("%Y-%m-%d %H:%M"), payment.id, payment.status,
        f"{payment.amount} {payment.currency}{refunded}", payment.provider,
        payment.method or "-", f"{payment.entity} #{payment.record_id}",
        payment.reference or "-", " ".join((payment.flag or "").split()) or "-",
    ]  # fmt: skip


def _reconcile(
    database_url: str | None, portal: str, since: datetime
) -> tuple[list[Difference], list[BoundProvider]]:
    """The differences, and the providers that list no payments (not reconciled)."""
    from portalis.engine.deploy.versions import load_live
    from portalis.engine.payments.reconcile import reconcile
    from portalis.engine.payments.registry import payment_registry

    # the runtime's plugins first: a process that imports `payments.setup` (and with it the
    # app context and the registry) before them meets an import cycle (as `worker` does)
    from .. import default_plugins  # noqa: F401
    from ..payments.setup import make_provider_context
    from ..settings import Settings
    from .payment_watch import watched

    env = dict(os.environ)
    if database_url:
        env["PORTALIS_DATABASE_URL"] = database_url
    try:
        settings = Settings.from_env(env)
    except ValueError as exc:  # a bad PORTALIS_WORKER or PORTALIS_OUTBOUND_ALLOW
        fail(str(exc))
    engine = open_engine(settings.database_url)
    try:
        with _failing():
            _known_portal(engine, portal)
            found = checker()
            model = load_live(engine, found, portal, env).model
            bound = payment_registry(found.pm).bind(model)
            if not bound:
                fail(f"{portal} declares no payments.providers: nothing to reconcile")
            watches: dict[str, ListWatch] = {}
            providers = watched(bound, watches)
            context = make_provider_context(settings, engine)
            differences = reconcile(engine, model, providers, since, context)
    finally:
        engine.dispose()
    silent = [bound[name] for name, watch in watches.items() if not watch.listed]
    if len(silent) == len(bound):
        names = ", ".join(f"{b.name} (type {b.entry.type})" for b in silent)
        fail(f"no payment provider of {portal} offers a list of its payments: {names}")
    return differences, silent


def register_payment_commands(cli: click.Group) -> None:
    """Add the `payments` group (`payments reconcile`, `payments list`) to the CLI group."""

    @cli.group(name="payments")
    def payments_group() -> None:
        """A portal's online payments: reconcile them with the providers, list them."""

    @payments_group.command(name="reconcile")
    @click.argument("portal")
    @click.option(
        "--since",
        required=True,
        metavar="DATE|DATETIME",
        callback=parse_since,
        help="Payments created at or after this date (UTC midnight) or ISO 8601 time.",
    )
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per difference.")
    @database_option
    def reconcile_command(
        portal: str, since: datetime, as_json: bool, database_url: str | None
    ) -> None:
        """Compare PORTAL's payments since --since with what its providers list.

        Prints each difference (kind, provider, reference, payment id, ours, theirs) or "no
        differences"; changes nothing. Kinds: missing_here (the provider has a payment the
        portal does not), missing_there (the portal counts or awaits one the provider does
        not list), amount, currency, status (money moved on one side only) and refunded.

        Exit status: 0 no differences, 1 differences found, 2 the reconciliation could not
        run (usage error, unknown portal, a definition that does not load, no provider that
        lists its payments, a provider that could not be reached).
        """
        differences, silent = _reconcile(database_url, portal, since)
        for bound in silent:
            click.echo(f"note: {bound.name} (type {bound.entry.type}) offers no list of its "
                       "payments: not reconciled", err=True)  # fmt: skip
        _print_differences(differences, as_json)
        sys.exit(DIFFERENCES if differences else 0)

    @payments_group.command(name="list")
    @click.argument("portal")
    @click.option("--status", type=click.Choice(STATUSES), default=None, help="Only this status.")
    @click.option("--provider", default=None, help="Only this provider entry (its name).")
    @click.option(
        "--since",
        default=None,
        metavar="DATE|DATETIME",
        callback=_optional_since,
        help="Payments created at or after this date (UTC midnight) or ISO 8601 time.",
    )
    @click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
    @database_option
    def list_command(
        portal: str,
        status: str | None,
        provider: str | None,
        since: datetime | None,
        limit: int,
        as_json: bool,
        database_url: str | None,
    ) -> None:
        """List PORTAL's payments, newest first (flagged ones: --status flagged)."""
        from ..payments.listing import PaymentFilter, find_payments

        engine = open_engine(database_url)
        try:
            with _failing():
                _known_portal(engine, portal)
                where = PaymentFilter(status=status, provider=provider, since=since)
                with engine.connect() as conn:
                    found = find_payments(conn, portal, where, limit=limit)
        finally:
            engine.dispose()
        if as_json:
            for payment in found:
                click.echo(json.dumps(payment_dict(payment), ensure_ascii=False))
            return
        if found:
            for line in table(PAYMENT_COLUMNS, (payment_row(p) for p in found)):
                click.echo(line)
        click.echo(f"{len(found)} payment(s)", err=True)


def _optional_since(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> datetime | None:
    return None if value is None else parse_since(ctx, param, value)


def _print_differences(differences: list[Difference], as_json: bool) -> None:
    if as_json:
        for difference in differences:
            click.echo(json.dumps(difference_dict(difference), ensure_ascii=False))
        return
    if not differences:
        click.echo("no differences")
        return
    rows = ([str(getattr(d, attr) or "-") for _, attr in DIFFERENCE_COLUMNS] for d in differences)
    for line in table([h for h, _ in DIFFERENCE_COLUMNS], rows):
        click.echo(line)
    click.echo(f"{len(differences)} difference(s)", err=True)

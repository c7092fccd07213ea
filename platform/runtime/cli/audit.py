"""`portalis audit export`: the audit log as JSON lines, for SIEMs and auditors.

One entry per line, oldest first, with the keys of `AuditEntry.to_json`. Output goes to
stdout, or with `--output` to a file that appears only once the export is complete (a failed
export never leaves a half-written file that looks like a whole one).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from .common import database_option, open_engine

if TYPE_CHECKING:
    import sqlalchemy as sa


def parse_since(ctx: click.Context, param: click.Parameter, value: str) -> datetime:
    """`--since`: a date (`2026-11-01`, midnight UTC) or an ISO 8601 date and time (with an
    offset or `Z`; without one, UTC) as an aware UTC datetime; a usage error (exit 2) else."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date (YYYY-MM-DD) or an ISO 8601 date and time", ctx, param
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def write_lines(engine: sa.Engine, out: IO[str], *, since: datetime, portal: str | None) -> int:
    """Write the entries since `since` to `out` as JSON lines; returns how many."""
    import sqlalchemy as sa

    from portalis.engine.data import audit
    from portalis.engine.data.system_tables import audit as audit_table

    if not sa.inspect(engine).has_table(audit_table.name):
        return 0  # nothing was ever deployed on this database: an empty log
    count = 0
    for entry in audit.export(engine, since=since, portal=portal):
        out.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return count


def register_audit_commands(cli: click.Group) -> None:
    """Add the `audit` group (`audit export`) to the CLI group."""

    @cli.group(name="audit")
    def audit_group() -> None:
        """The append-only audit log of record changes and sign-in events."""

    @audit_group.command(name="export")
    @click.option(
        "--since",
        required=True,
        metavar="DATE|DATETIME",
        callback=parse_since,
        help="Entries at or after this date (UTC midnight) or ISO 8601 date and time.",
    )
    @click.option("--portal", default=None, help="Only this portal's entries.")
    @click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        default=None,
        help="Write to this file instead of stdout.",
    )
    @database_option
    def export_command(
        since: datetime, portal: str | None, output: Path | None, database_url: str | None
    ) -> None:
        """Print audit entries as JSON lines, oldest first."""
        import sqlalchemy as sa

        engine = open_engine(database_url)
        partial = output.with_name(output.name + ".partial") if output is not None else None
        try:
            if output is None or partial is None:
                count = write_lines(engine, sys.stdout, since=since, portal=portal)
            else:
                with partial.open("w", encoding="utf-8") as handle:
                    count = write_lines(engine, handle, since=since, portal=portal)
                os.replace(partial, output)
        except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
            click.echo(f"error: database unavailable: {exc.orig}", err=True)
            sys.exit(1)
        finally:
            engine.dispose()
            if partial is not None and partial.exists():
                partial.unlink()
        click.echo(f"exported {count} audit entr{'y' if count == 1 else 'ies'}", err=True)

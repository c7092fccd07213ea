"""Helpers shared by the `portalis` command modules: the database option, engines, the
checker and turning engine errors into printed problems and exit codes.

Engine, runtime and SQLAlchemy modules are imported inside the helpers, when a command runs:
`portalis --help` and every command pay only for what they use (each process start counts).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    import sqlalchemy as sa

    from portalis.engine.deploy.validator import Checker
    from portalis.engine.problems import Problem

F = TypeVar("F", bound=Callable[..., Any])


def database_option(func: F) -> F:
    """`--database-url`, defaulting to PORTALIS_DATABASE_URL or the instance SQLite file."""
    return click.option(
        "--database-url",
        envvar="PORTALIS_DATABASE_URL",
        default=None,
        help="SQLAlchemy URL (default: PORTALIS_DATABASE_URL, else instance/portalis.sqlite).",
    )(func)


def open_engine(url: str | None) -> sa.Engine:
    """An engine for the given (or default) database URL."""
    from portalis.engine.data.db import create_engine

    from ..settings import default_database_url

    return create_engine(url or default_database_url())


@contextmanager
def migrated_engine(url: str | None) -> Iterator[sa.Engine]:
    """An engine for the given (or default) database with the tables a server needs in place,
    disposed on exit; the migration runs under the database lock, so several commands may
    start at once."""
    engine = open_engine(url)
    try:
        migrate_database(engine)
        yield engine
    finally:
        engine.dispose()


def checker() -> Checker:
    """A checker with every installed plugin (PORTALIS_DISABLED_PLUGINS honoured)."""
    from portalis.engine.deploy.validator import Checker

    from .. import default_plugins

    disabled = [p for p in os.environ.get("PORTALIS_DISABLED_PLUGINS", "").split(",") if p]
    return Checker(default_plugins.plugin_manager(disabled=disabled))


def migrate_database(engine: sa.Engine, env: Mapping[str, str] | None = None) -> list[str]:
    """`portalis migrate`: create the platform, runtime and plugin tables a server needs,
    with the plugins a server would load (PORTALIS_DISABLED_PLUGINS honoured), under a
    database lock; returns the names of the tables it created."""
    from .. import default_plugins
    from ..runtime_tables import migrate

    env = os.environ if env is None else env
    disabled = [p.strip() for p in env.get("PORTALIS_DISABLED_PLUGINS", "").split(",") if p.strip()]
    pm = default_plugins.plugin_manager(disabled=disabled)
    return migrate(engine, default_plugins.plugin_tables(pm))


def print_problems(problems: Iterable[Problem]) -> tuple[int, int]:
    """Print problems sorted by location; returns (errors, warnings)."""
    from portalis.engine.problems import Severity

    errors = warnings = 0
    for problem in sorted(problems, key=lambda p: (p.file, p.line, p.col)):
        click.echo(problem.format(), err=problem.severity is Severity.ERROR)
        if problem.severity is Severity.ERROR:
            errors += 1
        else:
            warnings += 1
    return errors, warnings


def handle_errors(func: F) -> F:
    """Turn engine errors into printed problems and exit code 1 (never a traceback)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import sqlalchemy as sa

        from portalis.engine.data.errors import NotFound, ValidationFailed
        from portalis.engine.deploy.migrations import DestructiveChangeRefused
        from portalis.engine.problems import DefinitionError, PortalisError

        try:
            return func(*args, **kwargs)
        except DefinitionError as exc:
            errors, warnings = print_problems(exc.problems)
            click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)
            sys.exit(1)
        except DestructiveChangeRefused as exc:
            click.echo("refused: the plan has destructive steps:", err=True)
            for op in exc.ops:
                click.echo("  " + op.describe(), err=True)
            click.echo("re-run with --allow-destructive to apply them", err=True)
            sys.exit(1)
        except ValidationFailed as exc:
            for name, messages in exc.errors.items():
                for message in messages:
                    click.echo(f"{name}: {message.text()}", err=True)
            sys.exit(1)
        except (NotFound, PortalisError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except sa.exc.OperationalError as exc:
            click.echo(f"error: database unavailable: {exc.orig}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]

"""`portalis run` (development server) and `portalis serve` (gunicorn, several workers).

`serve` needs PORTALIS_BASE_URL (links in e-mails come from it, and it names the host the
server answers for) and creates no tables: `portalis deploy` / `portalis migrate` do. `run`
bound on loopback may do without a base URL (links then use the loopback host) and runs the
migrate step itself once before serving, for convenience.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from typing import TYPE_CHECKING

import click

from .common import migrate_database

if TYPE_CHECKING:
    from ..settings import Settings

#: Printed when a server would have to build links from the request's Host header.
BASE_URL_NEEDED = (
    "error: set PORTALIS_BASE_URL to the address users reach the portals at "
    "(e.g. https://support.example.com): links in e-mails are built from it, and requests "
    "for host names it (or a portal's domains:) does not name are refused"
)


def seeded_logins(settings: Settings) -> list[tuple[str, str, str, str]]:
    """(portal, e-mail, password, roles) of every seeded user of every live portal.

    Seed files are demo data: their passwords are printed so a first-time user can sign in.
    """
    from portalis.engine.data.db import create_engine
    from portalis.engine.definition.loader import match_files
    from portalis.engine.definition.yamlsource import parse_text
    from portalis.engine.deploy.versions import get_bundle, live_versions

    engine = create_engine(settings.database_url)
    out: list[tuple[str, str, str, str]] = []
    try:
        for slug in sorted(live_versions(engine)):
            bundle = get_bundle(engine, slug)
            root = parse_text(bundle.files.get(bundle.root or "portal.yaml", ""), "portal.yaml")
            patterns = (root.data or {}).get("seed") or [] if isinstance(root.data, dict) else []
            for pattern in patterns:
                for rel in match_files(bundle, str(pattern)) or []:
                    data = parse_text(bundle.files[rel], rel).data or {}
                    for user in data.get("users") or []:
                        if user.get("password"):
                            roles = ", ".join(user.get("roles") or [])
                            out.append((slug, str(user["email"]), str(user["password"]), roles))
    finally:
        engine.dispose()
    return out


def register_serve_commands(cli: click.Group) -> None:
    """Add `run` and `serve` to the CLI group."""

    @cli.command()
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, type=int, show_default=True)
    @click.option("--database-url", envvar="PORTALIS_DATABASE_URL", default=None)
    @click.option("--demo-logins", is_flag=True, help="Print the seeded demo users first.")
    def run(host: str, port: int, database_url: str | None, demo_logins: bool) -> None:
        """Serve every published portal with the development server."""
        from portalis.engine.data.db import create_engine

        from ..app import create_app

        loopback = is_loopback(host)
        settings = _settings(database_url, loopback_hosts=loopback)
        _require_base_url(settings, allow_missing=loopback)
        engine = create_engine(settings.database_url)
        try:
            migrate_database(engine, settings.env)  # one process: nobody to race with
        finally:
            engine.dispose()
        if demo_logins:
            _print_logins(settings, host, port)
        app = create_app(settings)
        app.run(host=host, port=port, threaded=True, use_reloader=False)

    @cli.command()
    @click.option("--bind", default="127.0.0.1:8000", show_default=True)
    @click.option("--workers", default=2, type=int, show_default=True)
    @click.option("--timeout", default=30, type=int, show_default=True)
    @click.option("--database-url", envvar="PORTALIS_DATABASE_URL", default=None)
    def serve(bind: str, workers: int, timeout: int, database_url: str | None) -> None:
        """Serve with gunicorn (several worker processes; each picks up new versions).

        Needs PORTALIS_BASE_URL and a migrated database (`portalis deploy` or `portalis
        migrate`); workers never create tables.
        """
        from .gunicorn_app import PortalisGunicorn

        settings = _settings(database_url)
        _require_base_url(settings, allow_missing=False)
        _warn_unmigrated(settings)
        PortalisGunicorn(settings, {"bind": bind, "workers": workers, "timeout": timeout,
                             "graceful_timeout": timeout, "accesslog": "-"}).run()  # fmt: skip


def _settings(database_url: str | None, *, loopback_hosts: bool = False) -> Settings:
    from ..settings import Settings

    env = dict(os.environ)
    if database_url:
        env["PORTALIS_DATABASE_URL"] = database_url
    return Settings.from_env(env, loopback_hosts=loopback_hosts)


def is_loopback(host: str) -> bool:
    """Whether a bind address only this machine can reach (127.0.0.1, ::1, localhost)."""
    from ..hosts import LOOPBACK_NAMES

    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _require_base_url(settings: Settings, *, allow_missing: bool) -> None:
    """Exit 2 (usage error) without a usable PORTALIS_BASE_URL, unless `allow_missing`."""
    from ..hosts import base_url_host

    if settings.base_url and base_url_host(settings.base_url) is None:
        click.echo(f"error: PORTALIS_BASE_URL {settings.base_url!r} is not an http(s) URL "
                   "with a host name", err=True)  # fmt: skip
        sys.exit(2)
    if not settings.base_url and not allow_missing:
        click.echo(BASE_URL_NEEDED, err=True)
        sys.exit(2)


def _warn_unmigrated(settings: Settings) -> None:
    """Say so before starting workers that would only answer 503."""
    from portalis.engine.data.db import create_engine

    from ..runtime_tables import missing_tables

    engine = create_engine(settings.database_url)
    try:
        missing = missing_tables(engine)
    except Exception:  # the database may come up later: /_ready reports it then
        return
    finally:
        engine.dispose()
    if missing:
        click.echo(
            f"warning: the database lacks {', '.join(missing)}: run `portalis migrate` "
            "(pages answer 503 until then)",
            err=True,
        )


def _print_logins(settings: Settings, host: str, port: int) -> None:
    logins = seeded_logins(settings)
    if not logins:
        click.echo("no demo users (deploy with --seed to create them)")
        return
    click.echo("")
    click.echo("Demo logins:")
    for slug, email, password, roles in logins:
        click.echo(f"  http://{host}:{port}/{slug}/login   {email:<22} {password:<20} ({roles})")
    click.echo("")

"""`portalis run` (development server) and `portalis serve` (gunicorn, several workers)."""

from __future__ import annotations

import os
from typing import Any

import click
from gunicorn.app.base import BaseApplication

from portalis.engine.db import create_engine
from portalis.engine.loader import match_files
from portalis.engine.versions import get_bundle, live_versions
from portalis.engine.yamlsource import parse_text

from .app import create_app
from .settings import Settings


def seeded_logins(settings: Settings) -> list[tuple[str, str, str, str]]:
    """(portal, e-mail, password, roles) of every seeded user of every live portal.

    Seed files are demo data: their passwords are printed so a first-time user can sign in.
    """
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
        settings = _settings(database_url)
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
        """Serve with gunicorn (several worker processes; each picks up new versions)."""
        settings = _settings(database_url)
        _Gunicorn(settings, {"bind": bind, "workers": workers, "timeout": timeout,
                             "graceful_timeout": timeout, "accesslog": "-"}).run()  # fmt: skip


def _settings(database_url: str | None) -> Settings:
    env = dict(os.environ)
    if database_url:
        env["PORTALIS_DATABASE_URL"] = database_url
    return Settings.from_env(env)


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


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn running `create_app` in each worker (after fork: no shared connections)."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_app(self.settings)

"""Fixtures that serve a definition the way a portal server would, for plugin authors.

`portalis_definition_dir` names the definition (the b2c blueprint unless a conftest overrides
it), `portalis_env` the environment (settings variables and `${ENV}` values of the
definition), `portalis_portal` deploys and serves it on `database_url` (SQLite and
PostgreSQL) with every installed plugin, `portalis_app` is its Flask app and `login_as(email)`
returns a test browser signed in through a real server-side session.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from flask import Flask

from portalis.engine.data.db import create_engine
from portalis.runtime import default_plugins
from portalis.runtime.app import create_app
from portalis.runtime.settings import Settings

from .portals import BLUEPRINTS, deploy_dir, installed_checker, migrate_db
from .web import PortalClient, WebPortal

#: `login_as(email)`: a test browser of the served portal, signed in as that user.
LoginAs = Callable[[str], PortalClient]


def serve_definition(
    database_url: str,
    instance_path: str | os.PathLike[str],
    definition: str | os.PathLike[str],
    *,
    env: Mapping[str, str] | None = None,
    seed: bool = True,
) -> WebPortal:
    """Deploy `definition` and serve it with one plugin manager, built as the server builds it.

    The definition is deployed with every installed plugin, as a deploying process would;
    the app serves it with `PORTALIS_DISABLED_PLUGINS` of `env` applied — so a test can show
    what a server without a plugin does with a version that uses the plugin's settings (it
    does not serve it). `env` also supplies the definition's `${ENV}` values.
    """
    values = dict(env or {})
    settings = Settings.from_env(
        {
            **values,
            "PORTALIS_DATABASE_URL": database_url,
            "PORTALIS_INSTANCE_PATH": str(instance_path),
        },
        testing=True,
        version_check_seconds=0,  # every request sees the live version (tests deploy often)
    )
    pm = default_plugins.plugin_manager(disabled=settings.disabled_plugins)
    engine = create_engine(database_url)
    try:
        compiled = deploy_dir(engine, installed_checker(), Path(definition), seed=seed, env=values)
        migrate_db(engine, values)  # as `portalis deploy` does
    finally:
        engine.dispose()
    return WebPortal(create_app(settings, pm=pm), compiled)


@pytest.fixture
def portalis_definition_dir() -> Path:
    """The definition folder `portalis_portal` serves (override it in your conftest)."""
    return BLUEPRINTS / "b2c"


@pytest.fixture
def portalis_env() -> Mapping[str, str]:
    """Environment of `portalis_portal`: settings and `${ENV}` values (override it)."""
    return {}


@pytest.fixture
def portalis_portal(
    database_url: str,
    tmp_path: Path,
    portalis_definition_dir: Path,
    portalis_env: Mapping[str, str],
) -> Iterator[WebPortal]:
    """`portalis_definition_dir` deployed with its seed data and served; closed afterwards."""
    web = serve_definition(
        database_url, tmp_path / "portalis-instance", portalis_definition_dir, env=portalis_env
    )
    try:
        yield web
    finally:
        web.close()


@pytest.fixture
def portalis_app(portalis_portal: WebPortal) -> Flask:
    """The Flask app serving `portalis_portal`."""
    return portalis_portal.app


@pytest.fixture(name="login_as")
def login_as_fixture(portalis_portal: WebPortal) -> LoginAs:
    """`login_as(email)`: a new browser of `portalis_portal`, signed in as `email`."""
    return portalis_portal.client

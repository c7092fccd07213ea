"""The gunicorn application behind `portalis serve`: `create_app` in each worker.

The master imports the plugin code before it forks (it builds the server's plugin manager
once and drops it): every worker then starts from modules already in memory (shared
copy-on-write) instead of importing each installed plugin again, which took seconds per
worker. Nothing else is shared: each worker builds its own app, engine and connections after
the fork, and the master never touches the database here.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from gunicorn.app.base import BaseApplication

from .. import default_plugins
from ..app import create_app
from ..settings import Settings


class PortalisGunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn running `create_app` in each worker (after fork: no shared connections)."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        try:  # imports every enabled plugin now, in the master
            default_plugins.plugin_manager(disabled=settings.disabled_plugins)
        except Exception:  # noqa: S110 - each worker reports it when it boots, as it always did
            pass
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        app = create_app(self.settings)
        # one line per worker that booted (operators and the start-up test count them)
        logging.getLogger("gunicorn.error").info("portalis app loaded in worker %s", os.getpid())
        return app

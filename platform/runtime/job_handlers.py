"""The runtime side of the outbox: the job handlers and the worker embedded in the app.

`build_handlers` gives the handlers every worker needs: `mail`, `webhook`, and — given the
registry of live portals — workflow `timer`s, scheduled `automation` runs, password
`reset_request`s and background CSV imports (`csv_import`); `living_ticks` gives the periodic scheduler tick that queues due scheduled
automations.

With `PORTALIS_WORKER=embedded` (the default) `create_app` starts one daemon thread per
application process that runs a `Worker`; it finishes the job in hand when the interpreter
exits. Testing apps never start it unless a test asks (`force=True`): tests run jobs
deterministically with `portalis.testing.jobs.run_jobs`.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask

from portalis.engine.data.store import RecordStore
from portalis.engine.deploy.validator import Checker
from portalis.engine.flow.scheduler import JOB_KIND as AUTOMATION_JOB
from portalis.engine.flow.scheduler import automation_handler, schedule_tick
from portalis.engine.flow.timers import TIMER_JOB, timer_handler
from portalis.engine.outbox.jobs import Job
from portalis.engine.outbox.outbound import OutboundPolicy
from portalis.engine.outbox.webhooks import handle_webhook
from portalis.engine.outbox.worker import Handler, Worker
from portalis.engine.portal import CompiledPortal

from . import default_plugins
from .context import AppState
from .import_run import IMPORT_JOB, import_handler
from .mail import MAIL_JOB, mail_handler
from .printout_mail import printout_attacher
from .registry import PortalRegistry
from .settings import Settings

#: Where the embedded worker is kept in `AppState.extra`.
EMBEDDED_KEY = "embedded_worker"
#: Seconds the embedded worker may take to finish its job at shutdown.
STOP_TIMEOUT = 10.0
#: The outbox job kind of a password-reset request (see `auth.reset.reset_handler`).
RESET_JOB = "reset_request"


def build_handlers(
    settings: Settings,
    extra: Mapping[str, Handler] | None = None,
    *,
    registry: PortalRegistry | None = None,
) -> dict[str, Handler]:
    """The job handlers: `mail` (through `settings`' SMTP server), `webhook` (within
    `settings.outbound_allow`), with a `registry` also `timer` and `automation` (run against
    each portal's live version), plus `extra` (which may also replace a built-in one)."""
    handlers: dict[str, Handler] = {
        MAIL_JOB: mail_handler(settings),
        "webhook": webhook_handler(OutboundPolicy.parse(settings.outbound_allow)),
    }
    if registry is not None:
        # notifications attach printouts of the live version, rendered for each recipient
        handlers[MAIL_JOB] = mail_handler(settings, attach=printout_attacher(registry))
        stores = _live_stores(registry)
        handlers[TIMER_JOB] = timer_handler(stores)
        handlers[AUTOMATION_JOB] = automation_handler(stores)
        handlers[RESET_JOB] = _reset_handler(registry)
        handlers[IMPORT_JOB] = import_handler(registry)
    handlers.update(extra or {})
    return handlers


def _reset_handler(registry: PortalRegistry) -> Handler:
    """`auth.reset.reset_handler`, imported when the first reset job runs: the sign-in views
    stay out of a `portalis worker` process's start-up."""

    def handle(job: Job) -> None:
        from .auth.reset import reset_handler

        reset_handler(registry)(job)

    return handle


def webhook_handler(policy: OutboundPolicy) -> Handler:
    """`handle_webhook` within `policy` (what the outbound allow-list permits)."""

    def handle(job: Job) -> None:
        handle_webhook(job, policy=policy)

    return handle


def living_ticks(registry: PortalRegistry) -> tuple[Callable[[], None], ...]:
    """Periodic work of every worker: queue the scheduled automations that are due."""

    def portals() -> dict[str, CompiledPortal]:
        live = (registry.get(slug) for slug in registry.slugs())
        return {p.slug: p.compiled for p in live if p is not None}

    def tick() -> None:
        schedule_tick(registry.engine, portals)

    return (tick,)


def standalone_registry(settings: Settings, engine: sa.Engine) -> PortalRegistry:
    """The registry a `portalis worker` process loads live portals with (same plugins and
    environment as the app: a timer runs against the version the app serves)."""
    pm = default_plugins.plugin_manager(disabled=settings.disabled_plugins)
    return PortalRegistry(
        engine,
        Checker(pm),
        settings.env,
        check_seconds=settings.version_check_seconds,
        base_url=settings.base_url,
    )


def _live_stores(registry: PortalRegistry) -> Callable[[str], RecordStore | None]:
    def stores(slug: str) -> RecordStore | None:
        portal = registry.get(slug)
        return portal.store if portal is not None else None

    return stores


@dataclass(frozen=True, slots=True)
class EmbeddedWorker:
    """A worker thread inside the application process."""

    worker: Worker
    thread: threading.Thread
    stop: threading.Event

    def shutdown(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Ask the worker to stop after the job in hand; True when the thread ended."""
        self.stop.set()
        self.thread.join(timeout)
        return not self.thread.is_alive()


def start_embedded_worker(
    app: Flask,
    *,
    extra: Mapping[str, Handler] | None = None,
    ticks: Sequence[Callable[[], None]] = (),
    force: bool = False,
    poll_seconds: float = 1.0,
) -> threading.Thread | None:
    """Start the worker thread when `PORTALIS_WORKER` is `embedded` (default); returns it.

    Not started for testing apps unless `force` is given, nor twice for one app.
    """
    st: AppState = app.extensions["portalis"]
    if st.settings.worker != "embedded" or (app.testing and not force):
        return None
    running = st.extra.get(EMBEDDED_KEY)
    if isinstance(running, EmbeddedWorker) and running.thread.is_alive():
        return running.thread
    worker = Worker(
        st.engine,
        build_handlers(st.settings, extra, registry=st.registry),
        poll_seconds=poll_seconds,
        ticks=(*living_ticks(st.registry), *ticks),
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="portalis-worker", daemon=True)
    embedded = EmbeddedWorker(worker, thread, stop)
    st.extra[EMBEDDED_KEY] = embedded
    thread.start()
    # daemon threads die abruptly at exit: first let the job in hand finish
    atexit.register(embedded.shutdown)
    return thread


def stop_embedded_worker(app: Flask, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the app's embedded worker (if any) after its job in hand; True when none runs."""
    embedded = app.extensions["portalis"].extra.pop(EMBEDDED_KEY, None)
    if not isinstance(embedded, EmbeddedWorker):
        return True
    atexit.unregister(embedded.shutdown)
    return embedded.shutdown(timeout)

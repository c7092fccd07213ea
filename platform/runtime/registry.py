"""The registry of served portals: compiled once per live version, swapped atomically.

Each worker process keeps its own registry and checks the database's live-version pointers
at most once per `check_seconds` — one statement, on the request's connection when a request
asks (`request_db`), so a page that happens to poll takes no extra connection and the pages
in between (nearly all of them under load) none at all; a newly published version is compiled and swapped in
without a restart. A version that fails to compile here keeps the previous one serving.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from werkzeug.routing import Map

from portalis.engine.data.db import SharedConnection
from portalis.engine.data.errors import NotFound
from portalis.engine.data.store import RecordStore
from portalis.engine.definition.model import PortalModel
from portalis.engine.deploy.validator import Checker
from portalis.engine.deploy.versions import live_versions, load_live
from portalis.engine.portal import CompiledPortal

from .attachments import attachable
from .auth.providers import BindContext, Provider, ProviderTypes
from .plugin_routes import PortalRoute
from .request_db import read_connection, request_store
from .routing import build_map
from .security import DEFAULT_HEADERS, HeaderPairs, security_headers

if TYPE_CHECKING:
    from .forms.record import PortalForms

log = logging.getLogger("portalis.runtime")
#: How long a version that failed to load waits before this process tries it again.
RETRY_SECONDS = 60.0


@dataclass(slots=True)
class RuntimePortal:
    """A compiled portal ready to serve: store, URL map and version-bound caches."""

    compiled: CompiledPortal
    #: the version's record store, each read on a connection of its own (`store` is what a
    #: request uses)
    base_store: RecordStore
    url_map: Map
    cache: dict[Any, Any] = field(default_factory=dict)
    #: the auth providers of this version by entry name, bound once when it was loaded
    providers: Mapping[str, Provider] = field(default_factory=dict)
    #: the WTForms classes of this version's forms, built once when it was loaded (None in
    #: processes that serve no pages, such as a worker)
    forms: PortalForms | None = None
    #: the security headers of this version's responses, by https (built once)
    headers: Mapping[bool, HeaderPairs] = field(default_factory=lambda: DEFAULT_HEADERS)

    @property
    def store(self) -> RecordStore:
        """The record store; inside a request its reads share the request's one connection
        (`request_db`), elsewhere each read takes a connection of its own."""
        return request_store(self.base_store)

    @property
    def slug(self) -> str:
        """The portal's slug."""
        return self.compiled.slug

    @property
    def version(self) -> int | None:
        """The live version number this object serves."""
        return self.compiled.version


class PortalRegistry:
    """Compiled portals by slug and by host name, refreshed from the database."""

    def __init__(
        self,
        engine: sa.Engine,
        checker: Checker,
        env: Mapping[str, str],
        *,
        check_seconds: float = 1.0,
        base_url: str | None = None,
        provider_types: ProviderTypes | None = None,
        routes: tuple[PortalRoute, ...] = (),
        block_types: frozenset[str] | None = None,
        build_forms: Callable[[PortalModel], PortalForms] | None = None,
    ) -> None:
        self.engine = engine
        #: builds a version's form classes when it is loaded (the app passes it)
        self.build_forms = build_forms
        self.provider_types = provider_types or ProviderTypes([])
        self.routes = routes
        self._routes_by_endpoint = {route.endpoint: route for route in routes}
        #: the block types a loaded plugin renders (None: not checked)
        self.block_types = block_types
        self.checker = checker
        self.env = env
        self.check_seconds = check_seconds
        #: where portals are served (PORTALIS_BASE_URL): links in notifications are absolute
        self.base_url = (base_url or env.get("PORTALIS_BASE_URL") or "").rstrip("/")
        self._portals: dict[str, RuntimePortal] = {}
        self._hosts: dict[str, str] = {}
        self._checked = 0.0
        #: set once the first refresh completed: until then callers wait for it rather than
        #: answer with no portals while another thread (the embedded worker) compiles them
        self._loaded = False
        self._lock = threading.Lock()
        self.compiles = 0  # how many versions this process compiled (asserted in tests)
        #: slug → live version this process could not load (it keeps serving the previous one)
        self.failed: dict[str, int] = {}
        self._failed_at: dict[str, float] = {}

    def route(self, endpoint: str) -> PortalRoute | None:
        """The plugin route with this endpoint, if any."""
        return self._routes_by_endpoint.get(endpoint)

    def get(self, slug: str) -> RuntimePortal | None:
        """The portal served under `slug`, refreshing first when the check is due."""
        self.refresh()
        return self._portals.get(slug)

    def for_host(self, host: str) -> RuntimePortal | None:
        """The portal that declares `host` among its domains."""
        self.refresh()
        slug = self._hosts.get(host.lower())
        return self._portals.get(slug) if slug else None

    def hosts(self, shared: SharedConnection | None = None) -> list[str]:
        """Every host name a served portal declares in `domains:` (trusted Host names); a
        due poll runs on `shared` when given (the request's connection, asked before the
        request context exists)."""
        self.refresh(shared=shared)
        return list(self._hosts)

    def slugs(self) -> list[str]:
        """Slugs of every served portal."""
        self.refresh()
        return sorted(self._portals)

    def refresh(self, *, force: bool = False, shared: SharedConnection | None = None) -> None:
        """Pick up newly published versions (at most once per `check_seconds`), reading the
        pointers on `shared` or else the request's connection (a connection of its own
        outside a request)."""
        now = time.monotonic()
        if not force and self._loaded and now - self._checked < self.check_seconds:
            return
        with self._lock:
            if not force and self._loaded and time.monotonic() - self._checked < self.check_seconds:
                return
            self._checked = now
            try:
                # inside a request, on its connection: the poll costs no checkout of its own
                reading = shared.read() if shared is not None else read_connection(self.engine)
                with reading as conn:
                    live = live_versions(conn)
            except sa.exc.SQLAlchemyError:
                log.warning("cannot read live versions; serving what is loaded", exc_info=True)
                return
            portals = dict(self._portals)
            for slug, number in live.items():
                current = portals.get(slug)
                if current is not None and current.version == number:
                    continue
                if self.failed.get(slug) == number and now - self._failed_at[slug] < RETRY_SECONDS:
                    continue  # a version that failed to compile is retried rarely, not per request
                try:
                    portals[slug] = self._build(slug)
                    self.failed.pop(slug, None)
                except Exception:  # a broken version must not take the running one down
                    log.exception("portal %s version %s failed to load", slug, number)
                    self.failed[slug] = number
                    self._failed_at[slug] = now
            for slug in set(portals) - set(live):
                portals.pop(slug)
            hosts = {d.lower(): s for s, p in portals.items() for d in p.compiled.model.domains}
            # one assignment each: readers see either the old or the new mapping
            self._portals = portals
            self._hosts = hosts
            self._loaded = True

    def _build(self, slug: str) -> RuntimePortal:
        compiled = load_live(self.engine, self.checker, slug, self.env)
        self.compiles += 1
        log.info("serving %s version %s", slug, compiled.version)
        guard = partial(attachable, portal=slug)
        self._check_blocks(compiled)
        store = compiled.store(self.engine, guard, base_url=self.base_url)
        providers = self._bind_providers(compiled)
        forms = self.build_forms(compiled.model) if self.build_forms is not None else None
        return RuntimePortal(
            compiled,
            store,
            build_map(compiled.model, self.routes),
            providers=providers,
            forms=forms,
            headers={
                https: security_headers(compiled.model.embed_origins, https=https)
                for https in (False, True)
            },
        )

    def _check_blocks(self, compiled: CompiledPortal) -> None:
        """A block whose type no loaded plugin renders keeps the version from loading (its
        definition section validated it, but nothing would draw it)."""
        if self.block_types is None:
            return
        for page in compiled.model.pages.values():
            for block in page.blocks:
                if block.type not in self.block_types:
                    raise LookupError(
                        f"page {page.name!r} uses block type {block.type!r}, which no loaded "
                        "plugin renders (check the installed plugins and "
                        "PORTALIS_DISABLED_PLUGINS)"
                    )

    def _bind_providers(self, compiled: CompiledPortal) -> dict[str, Provider]:
        """Bind every provider entry; a type no plugin provides keeps the version from
        loading (a portal must never silently lose a login method or its checks)."""
        ctx = BindContext(
            slug=compiled.slug,
            model=compiled.model,
            engine=self.engine,
            env=self.env,
            base_url=self.base_url,
            files=compiled.bundle.files,
        )
        bound: dict[str, Provider] = {}
        for entry in compiled.model.auth.providers:
            ptype = self.provider_types.get(entry.type)
            if ptype is None:
                raise LookupError(
                    f"auth provider {entry.name!r} has type {entry.type!r}, which no installed "
                    f"plugin provides (install portalis-{entry.type}, or check "
                    "PORTALIS_DISABLED_PLUGINS)"
                )
            bound[entry.name] = ptype.bind(entry, ctx)
        return bound

    def require(self, slug: str) -> RuntimePortal:
        """The portal or NotFound."""
        portal = self.get(slug)
        if portal is None:
            raise NotFound(f"no portal {slug!r}")
        return portal

"""The payment providers of a running application and of each portal version it serves.

The application builds one `PaymentRegistry` from its plugins at start-up; a portal version
binds its `payments.providers` entries to it once, on first use (kept in the version's cache,
so a new version binds its own). Providers run with one `ProviderContext` per application:
the outbound policy of `PORTALIS_OUTBOUND_ALLOW`, the database, the environment and
`PORTALIS_BASE_URL`.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from functools import partial
from hashlib import sha256

import sqlalchemy as sa
from flask import Flask

from portalis.engine.outbox.outbound import OutboundPolicy
from portalis.engine.payments.provider import ProviderContext
from portalis.engine.payments.registry import BoundProvider, PaymentRegistry, payment_registry

from ..context import AppState, state
from ..registry import RuntimePortal
from ..settings import Settings

#: Where the application keeps its payment registry and provider context (`AppState.extra`).
_REGISTRY, _CONTEXT = "payment_registry", "payment_context"
#: The key of a portal version's bound providers in its cache.
_BOUND = ("payments", "bound")


def init_payments(app: Flask, app_state: AppState) -> None:
    """Collect the plugins' payment providers and the context they run in (once)."""
    app_state.extra[_REGISTRY] = payment_registry(app_state.pm)
    app_state.extra[_CONTEXT] = make_provider_context(app_state.settings, app_state.engine)


def make_provider_context(settings: Settings, engine: sa.Engine) -> ProviderContext:
    """The context providers run in with `settings` on `engine`: the application's, and the
    one a command (`portalis payments reconcile`) builds from the same environment — so a
    provider keyed with `derive_key` finds the same keys in both."""
    return ProviderContext(
        outbound=OutboundPolicy.parse(settings.outbound_allow),
        engine=engine,
        env=settings.env,
        base_url=(settings.base_url or "").rstrip("/"),
        derive_key=partial(derive_key, settings.secret_key),
    )


def derive_key(secret_key: str, purpose: str) -> str:
    """A key of this installation for `purpose`: HMAC-SHA256 of the purpose under the
    platform's secret key (hex). Stable across processes and restarts; one purpose's key
    tells nothing about another's or about the secret key."""
    return hmac.new(
        secret_key.encode(), b"portalis-payments:" + purpose.encode(), sha256
    ).hexdigest()


def registry() -> PaymentRegistry:
    """The application's payment provider types."""
    found: PaymentRegistry = state().extra[_REGISTRY]
    return found


def provider_context() -> ProviderContext:
    """What providers may use: outbound policy, database, environment, base URL."""
    found: ProviderContext = state().extra[_CONTEXT]
    return found


def bound_providers(portal: RuntimePortal) -> Mapping[str, BoundProvider]:
    """The portal version's provider entries, each bound to its provider (bound once per
    version; PaymentUnavailable when no loaded plugin serves an entry's type)."""
    found = portal.cache.get(_BOUND)
    if found is None:
        found = registry().bind(portal.compiled.model)
        portal.cache[_BOUND] = found
    return found

"""Every Portalis hook, typed and documented in one module.

Plugins implement these with `@hookimpl` (from `portalis.engine.plugins`) and register through
the entry-point group `portalis.plugins`. Misspelled implementations are rejected at start-up
(`PluginManager.check_pending`). Hooks that return lists are collected from every plugin; hooks
marked *firstresult* stop at the first non-None answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .fields import FieldType
    from .guards import RequestGuard
    from .loader import RawPortal
    from .model import PortalModel
    from .problems import Problem

PROJECT = "portalis"
hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorator for hook implementations (re-exported by `portalis.engine.plugins`).
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def portalis_field_types() -> list[FieldType]:
    """Field types this plugin provides.

    When: once, when a plugin manager's field-type registry is built (before any compile).
    Result: a list of `FieldType` instances; later plugins override earlier ones by name.
    Not firstresult: every plugin's list is collected.
    """
    raise NotImplementedError


@hookspec
def portalis_block_types() -> list[Any]:
    """Page block types this plugin provides.

    When: once, when the runtime builds its block registry and when the validator collects
    block option schemas. Result: a list of block type objects with `name`, `options_schema`
    (JSON Schema of the options), `compile(options, ctx)` and, in the runtime, `render`.
    Not firstresult.
    """
    raise NotImplementedError


@hookspec
def portalis_expression_functions() -> Mapping[str, Callable[..., Any]]:
    """Pure functions expressions may call, by name.

    When: once per compile, before expressions are compiled. Result: a mapping name →
    function; the functions must be pure and fast (they run inside the sandbox budget).
    Not firstresult: mappings from all plugins are merged.
    """
    raise NotImplementedError


@hookspec
def portalis_validate(raw: RawPortal, model: PortalModel | None) -> list[Problem]:
    """Extra definition checks.

    When: after the schema and semantic passes of `validate`, also for drafts.
    Arguments: the merged raw definition with its source map (use `raw.source.problem(...)` to
    locate problems) and the compiled model (None when earlier passes found errors).
    Result: a list of problems (may be empty). Not firstresult. An exception raised here is
    reported as a `plugin-error` problem and the definition counts as invalid.
    """
    raise NotImplementedError


@hookspec
def portalis_auth_provider_types() -> list[Any]:
    """Auth provider types (password, oidc, saml, ldap, …) this plugin provides.

    When: once, when the runtime builds its auth registry. Result: a list of provider type
    objects with `name`, `options_schema` and the runtime protocol of `portalis.runtime.auth`.
    Not firstresult.
    """
    raise NotImplementedError


@hookspec
def portalis_request_guards() -> list[RequestGuard]:
    """Request guards that may refuse portal requests (IP allow-lists, maintenance, …).

    When: once, when the runtime application starts; the guards are kept in a tuple and
    called for every portal request (no hook call per request), in registration order.
    Result: a list of callables `guard(request: GuardRequest) -> bool` (see
    `portalis.engine.guards`); the request carries the compiled portal model, the client
    address (`X-Forwarded-For` honoured only from trusted proxies), the actor (anonymous
    when not signed in), the portal-relative path and the method. True lets the request
    through; False refuses it with 403 (an HTML error page, or problem+json for API paths)
    carrying no portal data. A guard must be fast and must not do I/O; an exception raised
    by a guard fails the request (500), never lets it through. Not firstresult: every
    plugin's guards are collected and every guard must allow the request.
    """
    raise NotImplementedError

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

    When: once, when the runtime application starts (the provider registry is kept for the
    life of the app). Result: a list of objects following `ProviderType` of
    `portalis.runtime.auth.providers`: a `name` (the `type:` of a provider entry), a `kind`
    (`"form"`: the login page asks a user name and password; `"redirect"`: a button starts a
    flow at an identity provider), `secret_options` (options that must be `${ENV}`
    references) and `bind(entry, ctx)`, which returns the provider a compiled portal version
    uses (bound once per version, never per request). A provider entry whose type no loaded
    plugin provides keeps that portal version from loading (the previous version keeps
    serving). Not firstresult; a later plugin overrides an earlier one of the same name.
    """
    raise NotImplementedError


@hookspec
def portalis_second_factors() -> list[Any]:
    """Second factors (TOTP, …) this plugin provides.

    When: once, when the runtime application starts. Result: a list of objects following
    `SecondFactor` of `portalis.runtime.auth.second_factor`: `name`, `label`, `enrol_path`
    (a portal path the plugin serves through `portalis_portal_routes`), `enrolled(conn,
    portal, user_id)` and `verify(conn, portal, user_id, code)` (replay-safe, inside the
    caller's transaction). The core asks the first factor a user has enrolled after any
    successful primary login (password, LDAP, SSO, invitation), forces enrolment for the
    roles of `auth.two_factor.required_for`, and uses it for step-up before sensitive
    changes. Not firstresult: factors are offered in registration order.
    """
    raise NotImplementedError


@hookspec
def portalis_portal_routes() -> list[Any]:
    """Extra pages and endpoints served inside every portal (enrolment pages, callbacks, …).

    When: once, when the runtime application starts; the routes join every portal version's
    URL map (a route may not shadow a system route or a page: that is an error at start-up).
    Result: a list of `PortalRoute` (see `portalis.runtime.plugin_routes`): a Werkzeug rule
    relative to the portal (`/profile/two-factor`), an endpoint name of the form
    `<plugin>:<name>`, methods, the view `view(portal, actor, **args)` and who may call it
    (`access`: `"public"`, `"user"` or `"pending"` — a user between the first and the second
    factor). POST requests are CSRF-checked like every other form. Not firstresult.
    """
    raise NotImplementedError


@hookspec
def portalis_template_folders() -> list[str]:
    """Folders of Jinja templates this plugin's views render.

    When: once, when the runtime application starts. Result: a list of directory paths;
    they are searched after the runtime's own templates, so name plugin templates with a
    prefix folder (`totp/enrol.html`) and extend `layout.html` to look like every other
    page. Not firstresult.
    """
    raise NotImplementedError


@hookspec
def portalis_runtime_tables() -> list[Any]:
    """SQLAlchemy `MetaData` with the tables this plugin keeps (not per portal).

    When: when `portalis migrate` (or `deploy`) prepares a database (`create_all` under a
    database lock, existing tables are left alone); a serving application only checks that
    they exist (503 until they do). Tables must carry a `portal` column when their rows
    belong to one portal. Not firstresult.
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
    by a guard fails the request (500), never lets it through. A guard may name the
    definition settings it enforces in an `enforces` attribute (e.g.
    `("auth.ip_allowlist",)`): a portal version that uses such a setting is not served
    unless a loaded guard enforces it. Not firstresult: every plugin's guards are collected
    and every guard must allow the request.
    """
    raise NotImplementedError

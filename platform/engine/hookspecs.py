"""The engine's hooks: what a plugin contributes to definitions (no web, no runtime types).

Plugins implement these with `@hookimpl` (from `portalis.api`) and register through the
entry-point group `portalis.plugins`. The runtime declares its own hooks (blocks, sign-in
providers, second factors, portal routes, templates, tables) in `portalis.runtime.hookspecs`
with the same marker. A plugin manager loads every hookspec module before any plugin and
checks the implementations once, at the end (`make_plugin_manager`): a misspelled hook or an
unknown argument is rejected at start-up. Hooks that return lists are collected from every
plugin; hooks marked *firstresult* stop at the first non-None answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .markers import PROJECT as PROJECT
from .markers import hookimpl as hookimpl
from .markers import hookspec as hookspec

if TYPE_CHECKING:
    from .definition.fields import FieldType
    from .definition.loader import RawPortal
    from .definition.model import PortalModel
    from .definition.sections import DefinitionSection
    from .expr.expressions import ExpressionFunction
    from .guards import RequestGuard
    from .payments.provider import PaymentProvider
    from .problems import Problem


@hookspec
def portalis_field_types() -> list[FieldType]:
    """Field types this plugin provides.

    When: once, when a plugin manager's field-type registry is built (before any compile).
    Result: a list of `FieldType` instances; later plugins override earlier ones by name.
    Not firstresult: every plugin's list is collected.
    """
    raise NotImplementedError


@hookspec
def portalis_definition_sections() -> list[DefinitionSection]:
    """The parts of the definition this plugin owns: its block types' options, its sign-in
    and payment provider types' options and its keys of `auth:`.

    When: once, when a plugin manager's definition checker is built (before any compile).
    Result: a list of `DefinitionSection` (see `portalis.api`): `place` (`"block"`,
    `"provider"`, `"auth"` or `"payment"`) and `name` say where it lives; `schema` (JSON Schema of the
    value, composed into the definition schema), `check(value, path, ctx)` (what a schema
    cannot say, reported with `ctx.problem(...)` at file:line:col), `compile(value)` (the
    frozen object the runtime reads: `Block.config`, `AuthProvider.config`,
    `AuthConfig.sections[name]`, the `config` a payment provider's methods receive),
    `secret_options` (must be `${ENV}` references) and the
    section's documentation (`title`, `description`, `example`), which the generated
    reference and the builder show. The built-in blocks and the password provider are
    registered the same way. A definition that uses a section no loaded plugin provides is
    invalid, so a setting never outlives the plugin that enforces it. Not firstresult; a
    later plugin overrides an earlier section of the same place and name.
    """
    raise NotImplementedError


@hookspec
def portalis_expression_functions() -> Mapping[str, ExpressionFunction]:
    """Pure functions expressions may call, by name.

    When: once per compile, before expressions are compiled. Result: a mapping name →
    `ExpressionFunction` (any callable; the expression's arguments are passed positionally);
    the functions must be pure and fast (they run inside the sandbox budget).
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
def portalis_request_guards() -> list[RequestGuard]:
    """Request guards that may refuse portal requests (IP allow-lists, maintenance, …).

    When: once, when the runtime application starts; the guards are kept in a tuple and
    called for every portal request (no hook call per request), in registration order.
    Result: a list of callables `guard(request: GuardRequest) -> bool` (see `RequestGuard`
    and `GuardRequest` in `portalis.api`: engine types, so a guard needs no web code); the
    request carries the compiled portal model, the client address (`X-Forwarded-For`
    honoured only from trusted proxies), the actor (anonymous when not signed in), the
    portal-relative path and the method. True lets the request through; False refuses it
    with 403 (an HTML error page, or problem+json for API paths) carrying no portal data. A
    guard must be fast and must not do I/O; an exception raised by a guard fails the request
    (500), never lets it through. The settings a guard enforces belong in its plugin's
    definition section (`portalis_definition_sections`): a portal version that uses them is
    then invalid, and not served, wherever the plugin is not loaded. Not firstresult: every plugin's
    guards are collected and every guard must allow the request.
    """
    raise NotImplementedError


@hookspec
def portalis_payment_providers() -> list[PaymentProvider]:
    """Payment provider types this plugin provides (hosted checkouts, signed events, refunds).

    When: once, when a plugin manager's payment registry is built (the runtime at start-up,
    the CLI for `portalis payments`). Result: a list of `PaymentProvider` objects (see
    `portalis.api`): `name` is the `type` of the `payments.providers` entries it serves, whose
    options are the plugin's definition section at place `"payment"` with the same name
    (compiled into the `config` its methods receive). `create_checkout` returns a hosted page
    to redirect the payer to — card data never reaches the portal; `parse_event` verifies an
    inbound event (signature, then timestamp tolerance) before reading it and raises
    `EventRejected` otherwise; `refund` and `list_payments` (None when the network has no
    list) serve staff and reconciliation. The core stores each event id once, checks amount
    and currency, and updates the payment and its record in one transaction. Not firstresult;
    a later plugin overrides an earlier provider of the same name.
    """
    raise NotImplementedError

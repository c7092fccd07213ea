"""The runtime's hooks: what a plugin adds to the served application (web types).

Blocks that render pages, the HTML inputs of field types, sign-in provider types, second
factors, portal routes, template folders, the plugin's own tables, platform-level blueprints
and `portalis` commands are runtime concepts, so their hooks live here, next to the types
they return; the engine's hooks (field types, expression functions, definition
checks, request guards) are in `portalis.engine.hookspecs`. Plugins implement both with the
one marker `hookimpl` of `portalis.api`. The runtime's plugin manager
(`portalis.runtime.default_plugins.plugin_manager`) loads both spec modules before any
plugin, so a misspelled hook or an unknown argument is rejected at start-up.

This module imports no web framework at run time (the result types are only named for type
checkers), so a manager may load it without starting Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

from portalis.engine.hookspecs import PROJECT

if TYPE_CHECKING:
    from collections.abc import Mapping

    import click
    import sqlalchemy as sa
    from flask import Blueprint

    from .api.fields import ApiFieldFactory
    from .auth.providers import ProviderType
    from .auth.second_factor import SecondFactor
    from .blocks.base import BlockType
    from .forms.fieldtypes import FormFieldFactory
    from .plugin_routes import PortalRoute

hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def portalis_block_types() -> list[BlockType]:
    """Page block types this plugin provides.

    When: once, when the runtime application starts (the block registry is kept for the life
    of the app). Result: a list of `BlockType` objects (see `portalis.web`): a `name` (the
    block's key in page definitions), `render(ctx)` (the block's HTML for a GET) and
    `handle_post(ctx)` (a form POST addressed to the block). The block's options belong to
    its definition section (the engine hook `portalis_definition_sections`, place
    `"block"`, same name): schema, checks, and the compile step whose result `render` reads
    as `ctx.block.config` — compiled once per version, so keep per-request work small. A
    version with a block no loaded plugin renders is not served. Not firstresult; a later
    plugin overrides an earlier block type of the same name.
    """
    raise NotImplementedError


@hookspec
def portalis_form_fields() -> Mapping[str, FormFieldFactory]:
    """The WTForms fields HTML forms use for field types, by field type name.

    When: once, when the runtime application starts (the factories are kept for the life of
    the app); each published version's form classes are built from them when the version is
    loaded — never per request. Result: a mapping field type name → factory; a factory
    takes the compiled field (`portalis.api.Field`: name, `config` from its options, label)
    and returns an *unbound* WTForms field, e.g. `wtforms.IntegerField(render_kw={"min":
    "1"})` or `UnboundField(IntegerField, ...)`. After a submission the field's `data` is the
    raw value handed to the field type's `clean` (the record store validates; WTForms' own
    conversion errors and the field's validators become field errors before anything is
    written); to show a record it gets the stored value. The form sets the field's id, label
    (the definition's, in the reader's language), `required`, `aria-invalid` and
    `aria-describedby` (help and error) and draws label, help and error around the field's
    widget. A field type may instead carry its own factory as a method
    `form_field(self, field)`, which wins over this hook; a type with neither gets a text
    input. The built-in types are registered through this hook by the runtime's default
    plugin. Not firstresult: mappings are merged, a later plugin overrides an earlier one
    for the same type name.
    """
    raise NotImplementedError


@hookspec
def portalis_auth_provider_types() -> list[ProviderType]:
    """Auth provider types (password, oidc, saml, ldap, …) this plugin provides.

    When: once, when the runtime application starts (the provider registry is kept for the
    life of the app). Result: a list of `ProviderType` objects (see `portalis.web`): a
    `name` (the `type:` of a provider entry), a `kind` (`"form"`: the login page asks a
    user name and password; `"redirect"`: a button starts a flow at an identity provider)
    and `bind(entry, ctx)`, which returns the provider a compiled portal version uses (bound
    once per version, never per request). The entry's options belong to the type's
    definition section (place `"provider"`, same name): schema, checks, secret options and
    the compiled `entry.config`. A provider entry whose type no loaded plugin
    provides keeps that portal version from loading (the previous version keeps serving).
    Not firstresult; a later plugin overrides an earlier one of the same name.
    """
    raise NotImplementedError


@hookspec
def portalis_second_factors() -> list[SecondFactor]:
    """Second factors (TOTP, …) this plugin provides.

    When: once, when the runtime application starts. Result: a list of `SecondFactor`
    objects (see `portalis.web`): `name`, `label()`, `enrol_path` (a portal path the plugin
    serves through `portalis_portal_routes`), `enrolled(conn, portal, user_id)`,
    `enrolled_users(conn, portal, user_ids)`, `verify(conn, portal, user_id, code)`
    (replay-safe, inside the caller's transaction), `disable(conn, portal, user_id)` and
    `required_roles(model)`. The
    core asks the first factor a user has enrolled after any successful primary login
    (password, LDAP, SSO, invitation), forces enrolment for the roles any factor's
    `required_roles(model)` names (read from the plugin's own definition section, e.g.
    `auth.two_factor.required_for`), and uses it for step-up before sensitive changes. A
    factor that also implements `EnrollableFactor` (see `portalis.web`) can be set up
    outside portal pages: the builder requires such a factor for its accounts (keyed by the
    reserved portal key `_builder`) and refuses every sign-in without one. Not firstresult:
    factors are offered in registration order.
    """
    raise NotImplementedError


@hookspec
def portalis_portal_routes() -> list[PortalRoute]:
    """Extra pages and endpoints served inside every portal (enrolment pages, callbacks, …).

    When: once, when the runtime application starts; the routes join every portal version's
    URL map (a route may not shadow a system route or a page: that is an error at start-up).
    Result: a list of `PortalRoute` (see `portalis.web`): a Werkzeug rule relative to the
    portal (`/profile/two-factor`), an endpoint name of the form `<plugin>:<name>`, methods,
    the view `view(portal, actor, **args)` returning a `ViewResult`, and who may call it
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
def portalis_runtime_tables() -> list[sa.MetaData]:
    """SQLAlchemy `MetaData` with the tables this plugin keeps (not per portal).

    When: when `portalis migrate` (or `deploy`) prepares a database (`create_all` under a
    database lock, existing tables are left alone); a serving application only checks that
    they exist (503 until they do). Result: a list of `sqlalchemy.MetaData`. Tables must carry
    a `portal` column when their rows belong to one portal. Not firstresult.
    """
    raise NotImplementedError


@hookspec
def portalis_api_fields() -> Mapping[str, ApiFieldFactory]:
    """The REST API's marshmallow fields of this plugin's field types.

    When: once per application, on the first API request (the registry is kept for the life
    of the app); the API builds each published version's marshmallow schemas from it once.
    Result: a mapping field-type name → field class, called as `cls(field, nullable=...,
    required_value=..., output=..., locale=...)` with the entity field (`portalis.api.Field`).
    Subclass `portalis.web.ApiField`: override `to_json(value)` for the JSON form of a stored
    value (default: the type's `to_json`) and `value_schema()` for the exact JSON Schema of
    what the type's `clean` accepts (default: the type's `json_schema`) — or, when
    `self.output` is True (a response schema), of what a stored value may be. Loading hands
    the JSON value to the record store unchanged, which cleans it. A field type no plugin
    maps is served by `ApiField` itself. Not firstresult; a later plugin overrides an
    earlier one for the same type name.
    """
    raise NotImplementedError


@hookspec
def portalis_platform_blueprints() -> list[Blueprint]:
    """Flask blueprints served at platform level, outside every portal (`/_builder/`, …).

    When: once per application, when `create_app` builds it (Flask accepts no rule after
    the first request). Result: a list of *new* `flask.Blueprint` objects (build them in the
    hook: one application must not share a blueprint's state with another) whose
    `url_prefix` starts with `/_` — portal slugs start with a letter, so a platform path can
    never shadow a portal; another prefix is an error at start-up. The blueprint's views run
    outside any portal: no portal, no portal user, no request guard applies unless the view
    asks for them. Forms must check CSRF themselves (`portalis.web.protect_request` in a
    `before_request`): the application checks no view by default; a page that renders
    translated text chooses its language with `portalis.web.use_locale`.
    Security headers (CSP without `unsafe-inline`, `no-store`) and the Host allow-list apply
    as to every response. Not firstresult.
    """
    raise NotImplementedError


@hookspec
def portalis_cli_commands() -> list[click.Command]:
    """Commands (or command groups) this plugin adds to the `portalis` command.

    When: when the `portalis` command looks up a name it does not know itself, or lists its
    commands (`portalis --help`) — never for a built-in command, which stays quick. The
    plugin manager is built as a server builds it (`PORTALIS_DISABLED_PLUGINS` honoured).
    Result: a list of `click.Command` objects; each is added under its own `name`. A name of
    a built-in command, or one two plugins use, is an error. Follow the built-in commands'
    conventions: `--database-url` (PORTALIS_DATABASE_URL), exit code 1 for problems, 2 for
    usage errors, no traceback. Not firstresult.
    """
    raise NotImplementedError

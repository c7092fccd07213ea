"""The OpenAPI 3.1 document of a portal's REST API, as one actor sees it.

Generated with apispec and its marshmallow plugin from the version's marshmallow schemas
(`schemas`), never written by hand: one pair of paths per entity the actor may read; response
schemas are the read schema with `only=` the fields the actor may read, request schemas the
create/update schemas with `only=` the fields they may write. Each property's JSON Schema comes
from the field's marshmallow field (`ApiField.openapi_schema`), so it states exactly what the
record store accepts. An anonymous visitor's document shows only what anonymous grants allow.
The document depends on the version and the actor's role set only, so the API caches it per
(version, roles).
"""

from __future__ import annotations

from typing import Any, Final

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from marshmallow import INCLUDE, Schema, fields

from portalis.engine.data.permissions import Actor

from ..security import CSRF_HEADER
from .attachment_paths import SCHEMAS as ATTACHMENT_SCHEMAS
from .attachment_paths import attachment_paths
from .bulk_paths import bulk_paths
from .fields import ApiField, SystemField
from .paths import (
    component_parameters,
    component_responses,
    copy_paths,
    entity_paths,
    transition_paths,
)
from .payment_paths import PAYMENT_SCHEMAS, payment_paths, payment_schemas
from .schemas import ApiSchemas
from .workflow import TRANSITION_SCHEMAS, transition_schemas

OPENAPI_VERSION: Final = "3.1.0"


class _Meta(Schema.Meta):
    register = False


class _Open(Schema.Meta):
    """Problems may carry more members (`errors`, `reason`, `details`, …)."""

    register = False
    unknown = INCLUDE


class ErrorItemSchema(Schema):
    """One message about a field."""

    Meta = _Meta
    code = fields.String(required=True)
    message = fields.String(required=True)


class ProblemSchema(Schema):
    """An RFC 9457 problem: every error answer of the API (`application/problem+json`)."""

    Meta = _Open
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    code = fields.String(required=True, metadata={"description": "stable error code"})
    detail = fields.String()


class ValidationProblemSchema(ProblemSchema):
    """422: messages per field (`__all__`: the whole record) when input was refused; a
    reused Idempotency-Key has none. 409 has them when a related record's rule refused."""

    Meta = _Open
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.Nested(ErrorItemSchema)),
        metadata={"description": "messages per field (`__all__`: the whole record)"},
    )


class PageSchema(Schema):
    """A page of a list; `items` are the entity's records."""

    Meta = _Meta
    items = fields.List(fields.Dict(), required=True)
    page = fields.Integer(required=True, metadata={"minimum": 1})
    page_size = fields.Integer(required=True, metadata={"minimum": 1})
    total = fields.Integer(required=True, metadata={"minimum": 0})
    total_exact = fields.Boolean(
        required=True, metadata={"description": "false when total is a cap"}
    )
    has_next = fields.Boolean(required=True)


def portal_field2properties(
    self: OpenAPIConverter,
    field: fields.Field,  # type: ignore[type-arg]
    **kwargs: Any,
) -> dict[str, Any]:
    """apispec attribute function: the JSON Schema an entity or system field states itself."""
    if isinstance(field, ApiField | SystemField):
        return field.openapi_schema()
    return {}


def openapi_document(
    schemas: ApiSchemas,
    actor: Actor,
    *,
    base_url: str,
    cookie_name: str,
    version: int | None,
) -> dict[str, Any]:
    """The whole OpenAPI document for `actor` (paths relative to `base_url`)."""
    model = schemas.model
    locale = model.default_locale
    # a resolver that answers None makes apispec inline nested schemas (its annotation says str)
    plugin = MarshmallowPlugin(schema_name_resolver=_inline)  # type: ignore[arg-type]
    options: dict[str, Any] = {"servers": [{"url": base_url}]}
    if model.description is not None:
        options["info"] = {"description": model.description.get(locale, locale)}
    spec = APISpec(
        title=f"{model.title.get(locale, locale)} API",
        version=str(version if version is not None else 0),
        openapi_version=OPENAPI_VERSION,
        plugins=[plugin],
        **options,
    )
    assert plugin.converter is not None  # set by APISpec
    plugin.converter.add_attribute_function(portal_field2properties)  # type: ignore[no-untyped-call]
    components = spec.components
    components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": cookie_name})
    components.security_scheme("csrf", {"type": "apiKey", "in": "header", "name": CSRF_HEADER})
    components.schema("Problem", schema=ProblemSchema)
    components.schema("ValidationProblem", schema=ValidationProblemSchema)
    for name, parameter in component_parameters().items():
        components.parameter(name, parameter.pop("in"), parameter)
    for name, response in component_responses().items():
        components.response(name, response)
    with_workflows = with_attachments = with_payments = False
    for name, entity in model.entities.items():
        if not schemas.store.policy.grants_for(actor, name, "read"):
            continue
        entity_schemas = schemas[name]
        readable = schemas.readable(actor, name)
        components.schema(name, schema=entity_schemas.output(readable))
        components.schema(f"{name}.page", component=page_schema(plugin.converter, name))
        if schemas.store.policy.grants_for(actor, name, "create"):
            own = entity.account_field and actor.account is not None
            kind = "create_own" if own else "create"
            writable = schemas.writable(actor, name, "create")
            components.schema(f"{name}.create", schema=entity_schemas.instance(kind, writable))
        bulk_values = None
        if schemas.store.policy.grants_for(actor, name, "update"):
            writable = schemas.writable(actor, name, "update")
            update = entity_schemas.instance("update", writable | {"version"})
            components.schema(f"{name}.update", schema=update)
            if writable:
                # a bulk update sets fields only: the PATCH body without `version`
                bulk_values = f"{name}.values"
                components.schema(bulk_values, schema=entity_schemas.instance("update", writable))
        for path, operations in entity_paths(schemas, actor, entity, locale).items():
            add_path(spec, path, operations)
        for path, operations in copy_paths(schemas, actor, entity, locale).items():
            add_path(spec, path, operations)
        actions = schemas.store.policy.allowed_actions(actor, name)
        transitions = {tr.name for wf in model.workflow_for(name) for tr in wf.transitions.values()}
        bulk = bulk_paths(entity, actions, locale, transitions=transitions, values=bulk_values)
        for path, operations in bulk.items():
            add_path(spec, path, operations)
        for path, operations in attachment_paths(schemas, actor, entity, locale).items():
            with_attachments = True
            add_path(spec, path, operations)
        for path, operations in payment_paths(schemas, actor, entity, locale).items():
            with_payments = True
            add_path(spec, path, operations)
        for key, value in payment_schemas(schemas, actor, entity).items():
            components.schema(key, component=value)
        workflow_paths = transition_paths(schemas, actor, entity, locale)
        if workflow_paths:
            with_workflows = True
            for path, operations in workflow_paths.items():
                add_path(spec, path, operations)
            for key, value in transition_schemas(schemas, actor, entity).items():
                components.schema(key, component=value)
    if with_workflows:
        for key, value in TRANSITION_SCHEMAS.items():
            components.schema(key, component=value)
    if with_attachments:
        for key, value in ATTACHMENT_SCHEMAS.items():
            components.schema(key, component=value)
    if with_payments:
        for key, value in PAYMENT_SCHEMAS.items():
            components.schema(key, component=value)
    document: dict[str, Any] = spec.to_dict()
    return document


def _inline(schema: Any) -> None:
    """Nested schemas are written inline (only the named components are components)."""
    return None


def add_path(spec: APISpec, path: str, item: dict[str, Any]) -> None:
    """A path item: its shared `parameters` and its operations."""
    operations = {k: v for k, v in item.items() if k != "parameters"}
    spec.path(path=path, operations=operations, parameters=item.get("parameters"))


def page_schema(converter: OpenAPIConverter, entity: str) -> dict[str, Any]:
    """`<entity>.page`: the page envelope with the entity's records as items."""
    schema: dict[str, Any] = converter.schema2jsonschema(PageSchema)  # type: ignore[no-untyped-call]
    schema["properties"]["items"] = {
        "type": "array",
        "items": {"$ref": f"#/components/schemas/{entity}"},
    }
    return schema

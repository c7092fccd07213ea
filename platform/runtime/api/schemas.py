"""The marshmallow schemas of the REST API, built once per published version.

For every entity the first API request of a version builds four schema classes — `read`
(response bodies), `create` and `create_own` (request bodies of POST; in `create_own` the
account reference is optional because the store fills in the actor's account) and `update`
(PATCH) — and keeps them on the version's `RuntimePortal.cache` (`ApiSchemas.of`). A request
applies the actor's field mask by picking a schema *instance* with `only=` (the readable
fields for output, the writable ones for input); instances are cached per mask, and masks
depend on the actor's role set only, so after warm-up a request builds neither a schema class
nor a schema instance.

Input: `load` accepts only the fields the actor may write — any other member is refused with
422 as the record store would refuse it (`not-writable` for fields and system columns of the
entity, `unknown-field` for anything else), before the store is asked. Output: `dump` serialises
the records of a page in one `many=True` call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Final

from marshmallow import RAISE, Schema, ValidationError, fields, missing, validate

from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Record
from portalis.engine.data.store import RecordStore
from portalis.engine.definition.model import SYSTEM_COLUMNS, Entity, Field, PortalModel

from ..problem import ApiProblem
from .fields import ApiFields, SystemField, UserLocaleField

#: Schemas of the system columns every record carries.
SYSTEM_SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "id": {"type": "integer", "minimum": 1},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "created_by": {
        "type": ["integer", "null"],
        "minimum": 1,
        "description": "id of the user who created the record",
    },
    "version": {
        "type": "integer",
        "minimum": 1,
        "description": 'optimistic-locking version; send it back as If-Match: "<version>"',
    },
}
#: Largest version a client may send (the column is a 64-bit integer).
MAX_VERSION: Final = 2**63 - 1
_SYSTEM: Final = frozenset(SYSTEM_COLUMNS)


class RecordSchema(Schema):
    """Base of the generated schemas: reads a record's value mapping, refuses unknown input."""

    class Meta:
        unknown = RAISE

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        """A value of the record's mapping (never an attribute of the mapping object)."""
        return obj.get(attr, missing)


def always_required(field: Field) -> bool:
    """True when every record must have a value (not only under a condition)."""
    return field.required and field.visible_when is None and field.required_when is None


class EntitySchemas:
    """The schema classes of one entity and their masked instances."""

    SYSTEM_FIELDS: ClassVar[tuple[str, ...]] = SYSTEM_COLUMNS

    def __init__(self, store: RecordStore, entity: Entity, api_fields: ApiFields) -> None:
        self.entity = entity
        model = store.model
        locale = model.default_locale
        title = entity.label.get(locale, entity.name)
        state = store.state_fields(entity)
        always = {n for n, f in entity.fields.items() if always_required(f)}
        creatable = {
            n
            for n in always
            if entity.fields[n].default is None
            and entity.fields[n].default_expr is None
            and n not in state
        }

        def field(name: str, **kwargs: Any) -> fields.Field:  # type: ignore[type-arg]
            if entity.name == "user" and name == "locale":  # the store's rule for it
                return UserLocaleField(entity.fields[name], locales=model.locales, **kwargs)
            return api_fields.field(entity.fields[name], **kwargs)

        def build(
            name: str,
            required: Iterable[str],
            *,
            output: bool = False,
            **extra: fields.Field,  # type: ignore[type-arg]
        ) -> type[Schema]:
            needed = set(required)
            attrs: dict[str, Any] = {
                n: field(
                    n,
                    nullable=n not in always,
                    required_value=n in always,
                    required=n in needed,
                    output=output,
                    locale=locale,
                )  # fmt: skip
                for n in entity.fields
            }
            attrs.update(extra)
            attrs["Meta"] = type("Meta", (RecordSchema.Meta,), {"title": title, "register": False})
            return type(name, (RecordSchema,), attrs)

        system = {
            n: SystemField(SYSTEM_SCHEMAS[n], stamp=n in ("created_at", "updated_at"))
            for n in SYSTEM_COLUMNS
        }
        self.read = build(f"{entity.name}_read", [], output=True, **system)
        self.create = build(f"{entity.name}_create", creatable)
        own = creatable - {entity.account_field} if entity.account_field else creatable
        self.create_own = build(f"{entity.name}_create_own", own)
        version = fields.Integer(
            strict=True,
            validate=validate.Range(min=1, max=MAX_VERSION),
            metadata={"description": "expected current version (or send If-Match)"},
        )
        self.update = build(f"{entity.name}_update", [], version=version)
        self._instances: dict[tuple[str, frozenset[str]], Schema] = {}

    def instance(self, kind: str, only: frozenset[str], *, partial: bool = False) -> Schema:
        """The `kind` schema (`read`, `create`, `create_own`, `update`) restricted to `only`,
        built at most once per mask."""
        key = (kind, only)
        found = self._instances.get(key)
        if found is None:
            schema_class: type[Schema] = getattr(self, kind)
            found = schema_class(only=sorted(only), partial=partial)
            self._instances[key] = found
        return found

    def output(self, readable: frozenset[str]) -> Schema:
        """The response schema for an actor who may read `readable` (plus system columns)."""
        return self.instance("read", readable | _SYSTEM)

    def loader(self, writable: frozenset[str]) -> Schema:
        """The request schema for an actor who may write `writable` (required fields are the
        store's to check: a loader never insists on a member)."""
        return self.instance("load", writable)

    @property
    def load(self) -> type[Schema]:
        """The class loaders are made from (the update schema without `version`)."""
        return self.update

    def load_values(self, writable: frozenset[str], values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` when every member is writable, else 422 naming each refused member."""
        try:
            loaded: dict[str, Any] = self.instance("load", writable, partial=True).load(values)
        except ValidationError as exc:
            raise refused(self.entity, exc.messages) from exc
        return loaded

    def dump(self, readable: frozenset[str], records: Sequence[Record]) -> list[dict[str, Any]]:
        """The records as JSON objects (one `many=True` dump)."""
        result: list[dict[str, Any]] = self.output(readable).dump(
            [r.values for r in records], many=True
        )
        return result


def refused(entity: Entity, messages: Any) -> ApiProblem:
    """422 with the store's codes for members a loader refused."""
    errors: dict[str, list[dict[str, str]]] = {}
    names = messages if isinstance(messages, dict) else {}
    for name in names:
        if name in entity.fields or name in _SYSTEM:
            errors[name] = [{"code": "not-writable", "message": "you may not change this field"}]
        else:
            errors[name] = [{"code": "unknown-field", "message": "unknown field"}]
    return ApiProblem(422, "invalid", "the input was refused", errors=errors)


class ApiSchemas:
    """Every entity's schemas for one published version (see the module documentation)."""

    CACHE_KEY: ClassVar[str] = "api:schemas"

    def __init__(self, store: RecordStore, api_fields: ApiFields) -> None:
        self.store = store
        self.entities = {
            name: EntitySchemas(store, entity, api_fields)
            for name, entity in store.model.entities.items()
        }

    @classmethod
    def of(cls, cache: dict[Any, Any], store: RecordStore, api_fields: ApiFields) -> ApiSchemas:
        """The version's schemas from its cache, built on first use."""
        found = cache.get(cls.CACHE_KEY)
        if not isinstance(found, ApiSchemas):
            found = cls(store, api_fields)
            cache[cls.CACHE_KEY] = found
        return found

    def __getitem__(self, entity: str) -> EntitySchemas:
        return self.entities[entity]

    def readable(self, actor: Actor, entity: str) -> frozenset[str]:
        """The fields `actor` may read of `entity`."""
        return frozenset(self.store.policy.field_mask(actor, entity, "read"))

    def writable(self, actor: Actor, entity: str, action: str) -> frozenset[str]:
        """The fields any of the actor's `action` grants lets them write."""
        grants = self.store.policy.grants_for(actor, entity, action)
        return (
            self.store.writable(self.store.model.entities[entity], grants)
            if grants
            else frozenset()
        )

    @property
    def model(self) -> PortalModel:
        """The version's model."""
        return self.store.model

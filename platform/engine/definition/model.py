"""The compiled portal model: frozen, slotted dataclasses built once by the compiler.

Nothing here is a raw dict from the definition: every option the runtime reads is an attribute.
Type-specific field options live in `Field.config` (a frozen object made by the field type);
a block's options in `Block.config` (made by its definition section). The value types are in
`values`, the flow (workflows, automations, notifications) in `flow_model`, the `auth:`
section in `auth_config`, the built-in blocks' options in `block_configs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .attachment_spec import AttachmentsSpec
from .auth_config import AuthConfig
from .exchange_rates import ExchangeRates
from .flow_model import Automation, CopySpec, NotificationTemplate, Workflow
from .payable_spec import Payable, PaymentProviderEntry
from .printout_spec import Printout
from .values import Label, frozen_map

if TYPE_CHECKING:
    from ..expr.expressions import Expression
    from .fields import FieldType
    from .lookups import Lookup

#: Roles every portal has without declaring them.
BUILTIN_ROLES = ("anonymous", "authenticated")
#: Actions a grant may name (`pay` and `refund` on payable entities only).
ACTIONS = ("read", "create", "update", "delete", "transition", "pay", "refund")
#: Columns every entity table has; definitions may not declare fields with these names.
SYSTEM_COLUMNS = ("id", "created_at", "updated_at", "created_by", "version")

#: First path segments the runtime keeps for its own routes (login, API, files, …).
RESERVED_ROUTE_SEGMENTS = frozenset(
    {
        "login",
        "logout",
        "register",
        "reset",
        "verify",
        "invite",
        "profile",
        "account",
        "api",
        "notifications",
        "auth",
        "admin",
    }
)

ScopeKind = Literal["all", "account", "account_tree", "own", "self", "parent", "where"]


@dataclass(frozen=True, slots=True)
class Rollup:
    """An aggregate over child records: `aggregate` of `entity.field` where `via` = this id.

    `where` pairs (field, value) narrow the children counted. `field` is None for `count`.
    """

    aggregate: Literal["sum", "count", "min", "max"]
    entity: str
    via: str
    field: str | None = None
    where: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Field:
    """One field of an entity. `kind` is the registered field type; `config` its options."""

    name: str
    type: str
    label: Label
    kind: FieldType
    config: Any = None
    required: bool = False
    default: Any = None
    help: Label | None = None
    readonly: bool = False
    unique: bool = False
    indexed: bool = False
    renamed_from: str | None = None
    visible_when: Expression | None = None
    required_when: Expression | None = None
    compute: Expression | None = None
    builtin: bool = False
    #: False for a virtual computed field: computed on read, no column
    stored: bool = True
    #: `stored: sql`: virtual, evaluated by the database in every read (`data.sql_compute`)
    sql: bool = False
    #: `default: {expr: ...}`: evaluated when a record is created (instead of `default`)
    default_expr: Expression | None = None
    rollup: Rollup | None = None

    @property
    def derived(self) -> bool:
        """True when the value is computed (compute or rollup) or assigned on create
        (a sequence number): never written by users."""
        return self.compute is not None or self.rollup is not None or self.kind.assigned

    @property
    def in_database(self) -> bool:
        """True when the database has the value to filter, sort and group by: a column, or
        the SQL of a `stored: sql` field."""
        return self.stored or self.sql

    @property
    def columns(self) -> tuple[str, ...]:
        """Names of the database columns this field occupies."""
        return self.kind.column_names(self)


@dataclass(frozen=True, slots=True)
class Rule:
    """A cross-field check: `check` must be true or `message` is shown."""

    index: int
    check: Expression
    message: Label


@dataclass(frozen=True, slots=True)
class Scope:
    """Which rows a grant covers.

    `field` is the account reference for `account` and `account_tree`, the reference field
    for `parent`; `target` the parent entity (for `account_tree`: the account entity's
    `parent_field`); `where` pairs of (field, value) where a value may be
    `$actor.id` or `$actor.account`. `when` (parent scopes of write grants only) is a
    condition on the parent's state, over `parent` and `actor`; `message` is what a write
    it refuses is told ("the order is delivered: its lines can no longer change").
    """

    kind: ScopeKind
    field: str | None = None
    target: str | None = None
    where: tuple[tuple[str, Any], ...] = ()
    when: Expression | None = None
    message: Label | None = None

    def describe(self) -> str:
        """Short text used in decision reasons."""
        if self.kind == "parent":
            return f"parent {self.field}" + (" when …" if self.when is not None else "")
        if self.kind == "where":
            return "where " + ", ".join(f"{k}={v}" for k, v in self.where)
        return self.kind


@dataclass(frozen=True, slots=True)
class Grant:
    """One permission grant of an entity (its position is `index`, 1-based in reasons)."""

    index: int
    entity: str
    roles: frozenset[str]
    actions: frozenset[str]
    scope: Scope
    fields_only: frozenset[str] | None = None
    fields_except: frozenset[str] = frozenset()

    def describe(self) -> str:
        """`grant #2 of ticket: customer/account`."""
        if self.index < 0:
            return f"the system grant of {self.entity}"
        return (
            f"grant #{self.index + 1} of {self.entity}: "
            f"{','.join(sorted(self.roles))}/{self.scope.describe()}"
        )

    def allows_field(self, name: str) -> bool:
        """True when this grant's field restriction lets `name` through."""
        if self.fields_only is not None and name not in self.fields_only:
            return False
        return name not in self.fields_except


@dataclass(frozen=True, slots=True)
class FullText:
    """An entity's full-text index (`search: {fields: ...}`): the indexed fields with their
    weights (1–10) and the text-search language (`english`, `german`, `french`, `spanish` or
    `simple`, from the portal's first locale)."""

    fields: tuple[tuple[str, int], ...]
    language: str

    def names(self) -> tuple[str, ...]:
        """The indexed fields in declaration order."""
        return tuple(name for name, _ in self.fields)


@dataclass(frozen=True, slots=True)
class Entity:
    """An entity: a real table with typed columns and its permission grants."""

    name: str
    label: Label
    plural_label: Label
    fields: Mapping[str, Field]
    grants: tuple[Grant, ...]
    rules: tuple[Rule, ...] = ()
    title_field: str | None = None
    account_field: str | None = None
    #: on the account entity: the ref to the parent account (`account_tree` scopes)
    parent_field: str | None = None
    builtin: bool = False
    table_name: str = ""
    search_fields: tuple[str, ...] = ()
    #: the full-text index (`search: {fields: ...}`), None for a substring search
    full_text: FullText | None = None
    icon: str | None = None
    #: declared `indexes:`, each a list of field or system column names (`-name` descends)
    indexes: tuple[tuple[str, ...], ...] = ()
    #: fields of referenced records its expressions read (`product.unit_price`), loaded with
    #: each record that is written or computed
    reads: frozenset[str] = frozenset()
    #: how a record is copied with its children (`copy:`), None when it cannot be
    copy: CopySpec | None = None
    #: declared lookups by name (`lookups:`), read by expressions as `record.<name>`
    lookups: Mapping[str, Lookup] = field(default_factory=dict)
    #: documents kept with each record (`attachments:`), None when it keeps none
    attachments: AttachmentsSpec | None = None
    #: documents generated from each record (`printouts:`), by name
    printouts: Mapping[str, Printout] = field(default_factory=dict)
    #: how records are paid online (`payable:`), None when they are not
    payable: Payable | None = None

    def title_of(self, record: Mapping[str, Any]) -> str:
        """The display title of a record."""
        if self.title_field and record.get(self.title_field) not in (None, ""):
            return str(record[self.title_field])
        return f"#{record.get('id')}"

    def refs(self) -> tuple[Field, ...]:
        """The reference fields of this entity."""
        return tuple(f for f in self.fields.values() if f.type == "ref")


@dataclass(frozen=True, slots=True)
class Role:
    """A role; `closure` is the role itself plus every role it inherits, transitively;
    `assigns` the roles a holder may give to the users of their own account."""

    name: str
    label: Label
    inherits: tuple[str, ...] = ()
    staff: bool = False
    closure: frozenset[str] = frozenset()
    builtin: bool = False
    assigns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Block:
    """A block on a page; `config` is a block dataclass above or a plugin's own object."""

    type: str
    index: int
    config: Any


@dataclass(frozen=True, slots=True)
class Page:
    """A page with a route (Werkzeug syntax, `<id>` for records) and its blocks."""

    name: str
    route: str
    title: Label
    roles: frozenset[str]
    blocks: tuple[Block, ...]
    public: bool = False

    @property
    def has_id(self) -> bool:
        """True when the route carries a record id."""
        return "<id>" in self.route


@dataclass(frozen=True, slots=True)
class Theme:
    """The `theme:` section; colors become CSS custom properties."""

    primary_color: str = "#0b5fff"
    accent_color: str | None = None
    background_color: str | None = None
    text_color: str | None = None
    logo: str | None = None
    css: str | None = None
    font: str | None = None
    radius: str | None = None


@dataclass(frozen=True, slots=True)
class LiveUpdates:
    """The `live_updates:` section: open pages ask every `interval_seconds` whether what
    they show changed (blocks with `live: true`, and the notification bell when `bell`)."""

    interval_seconds: int = 10
    bell: bool = True


@dataclass(frozen=True, slots=True)
class PortalModel:
    """A whole compiled definition."""

    slug: str
    title: Label
    locales: tuple[str, ...]
    currency: str
    roles: Mapping[str, Role]
    entities: Mapping[str, Entity]
    workflows: Mapping[str, Workflow]
    pages: Mapping[str, Page]
    navigation: tuple[str, ...]
    theme: Theme
    auth: AuthConfig
    seed: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    embed_origins: tuple[str, ...] = ()
    description: Label | None = None
    sha256: str = ""
    automations: Mapping[str, Automation] = field(default_factory=frozen_map)
    notifications: Mapping[str, NotificationTemplate] = field(default_factory=frozen_map)
    #: dated rates for metrics that report money in one currency (`exchange_rates:`)
    exchange_rates: ExchangeRates | None = None
    #: how open pages learn of news without a reload (`live_updates:`); None: they do not
    live_updates: LiveUpdates | None = None
    #: the `payments.providers` entries, in order (the first is the default)
    payment_providers: tuple[PaymentProviderEntry, ...] = ()

    @property
    def default_locale(self) -> str:
        """The first declared locale."""
        return self.locales[0]

    def workflow_for(self, entity: str) -> tuple[Workflow, ...]:
        """The workflows over `entity`."""
        return tuple(w for w in self.workflows.values() if w.entity == entity)

    def payment_provider(self, name: str) -> PaymentProviderEntry | None:
        """The `payments.providers` entry called `name`, or None."""
        return next((p for p in self.payment_providers if p.name == name), None)

    def role_closure(self, roles: frozenset[str] | set[str]) -> frozenset[str]:
        """The given roles plus every role they inherit."""
        out: set[str] = set()
        for name in roles:
            role = self.roles.get(name)
            out |= role.closure if role else {name}
        return frozenset(out)

"""The compiled portal model: frozen, slotted dataclasses built once by the compiler.

Nothing here is a raw dict from the definition: every option the runtime reads is an attribute.
Type-specific field options live in `Field.config` (a frozen object made by the field type);
built-in block options live in the block config dataclasses below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ..expr.expressions import Expression
    from .fields import FieldType

#: Roles every portal has without declaring them.
BUILTIN_ROLES = ("anonymous", "authenticated")
#: Actions a grant may name.
ACTIONS = ("read", "create", "update", "delete", "transition")
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

ScopeKind = Literal["all", "account", "own", "self", "parent", "where"]


def frozen_map(data: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only mapping (insertion order kept)."""
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True, slots=True)
class Label:
    """A text per locale. `get` falls back to the default locale, then to any text."""

    texts: Mapping[str, str] = field(default_factory=frozen_map)

    @classmethod
    def of(cls, value: str | Mapping[str, str] | None, fallback: str = "") -> Label:
        """A label from a definition value (a string means: the same in every locale)."""
        if value is None:
            return cls(frozen_map({"*": fallback}))
        if isinstance(value, str):
            return cls(frozen_map({"*": value}))
        return cls(frozen_map(value))

    def get(self, locale: str, default_locale: str = "en") -> str:
        """The text for `locale`, else the default locale's, else the first one."""
        for key in (locale, locale.split("-")[0], "*", default_locale):
            if key in self.texts:
                return self.texts[key]
        return next(iter(self.texts.values()), "")

    def has(self, locale: str) -> bool:
        """True when the label has its own text for `locale` (or one for every locale)."""
        return locale in self.texts or "*" in self.texts


@dataclass(frozen=True, slots=True)
class Value:
    """A value in an action or default: a literal, or an expression evaluated when needed."""

    literal: Any = None
    expr: Expression | None = None
    source: str | None = None

    def resolve(self, **names: Any) -> Any:
        """The literal, or the expression's result for `names` (EvaluationError on failure)."""
        if self.expr is None:
            return self.literal
        return self.expr.evaluate(**names)


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
    #: `default: {expr: ...}`: evaluated when a record is created (instead of `default`)
    default_expr: Expression | None = None
    rollup: Rollup | None = None

    @property
    def derived(self) -> bool:
        """True when the value is computed (compute or rollup), never written by users."""
        return self.compute is not None or self.rollup is not None

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

    `field` is the account reference for `account`, the reference field for `parent`;
    `target` the parent entity; `where` pairs of (field, value) where a value may be
    `$actor.id` or `$actor.account`.
    """

    kind: ScopeKind
    field: str | None = None
    target: str | None = None
    where: tuple[tuple[str, Any], ...] = ()

    def describe(self) -> str:
        """Short text used in decision reasons."""
        if self.kind == "parent":
            return f"parent {self.field}"
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
    builtin: bool = False
    table_name: str = ""
    search_fields: tuple[str, ...] = ()
    icon: str | None = None

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
    """A role; `closure` is the role itself plus every role it inherits, transitively."""

    name: str
    label: Label
    inherits: tuple[str, ...] = ()
    staff: bool = False
    closure: frozenset[str] = frozenset()
    builtin: bool = False


ActionKind = Literal["set", "notify", "create", "webhook"]


@dataclass(frozen=True, slots=True)
class Action:
    """One action of a transition, timer or automation.

    `set`: `values` (field → Value) on the record; `create`: a record of `entity` with `values`;
    `notify`: notification `template` to the recipients `to`; `webhook`: POST to `url`.
    """

    kind: ActionKind
    values: Mapping[str, Value] = field(default_factory=frozen_map)
    entity: str | None = None
    template: str | None = None
    to: tuple[str, ...] = ()
    url: str | None = None
    secret: str | None = None
    event: str | None = None


@dataclass(frozen=True, slots=True)
class Approvals:
    """Parallel approval: `count` different users holding one of `roles` must approve."""

    roles: frozenset[str]
    count: int


CommentMode = Literal["required", "optional", "none"]


@dataclass(frozen=True, slots=True)
class Transition:
    """A workflow transition from any of `sources` to `target`."""

    name: str
    label: Label
    sources: frozenset[str]
    target: str
    roles: frozenset[str]
    when: Expression | None = None
    when_source: str | None = None
    require: tuple[str, ...] = ()
    comment: CommentMode = "optional"
    allow_self_approval: bool = True
    assignee_field: str | None = None
    approvals: Approvals | None = None
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True, slots=True)
class Timer:
    """`after_seconds` after a record entered `state` (and is still there): take `transition`
    or run `actions`, if `when` holds at that moment."""

    name: str
    state: str
    after: str
    after_seconds: int
    when: Expression | None = None
    when_source: str | None = None
    transition: str | None = None
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True, slots=True)
class Workflow:
    """A state machine over a choice field of an entity."""

    name: str
    entity: str
    field: str
    initial: str
    states: tuple[str, ...]
    transitions: Mapping[str, Transition]
    timers: tuple[Timer, ...] = ()

    def available_from(self, state: str) -> tuple[Transition, ...]:
        """Transitions whose sources include `state`."""
        return tuple(t for t in self.transitions.values() if state in t.sources)


@dataclass(frozen=True, slots=True)
class ListBlock:
    """`list`: rows of an entity with columns, filters, search, sort and paging."""

    entity: str
    columns: tuple[str, ...]
    filters: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    sort: str = "-updated_at"
    page_size: int = 25
    link: str | None = None
    parent: str | None = None
    export: bool = True
    title: Label | None = None


@dataclass(frozen=True, slots=True)
class DetailBlock:
    """`detail`: one record's fields and the actor's allowed actions."""

    entity: str
    fields: tuple[str, ...] = ()
    actions: tuple[str, ...] = ("transitions", "edit")
    #: roles that see the history panel (changes, transitions, comments)
    history_roles: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class FormBlock:
    """`form`: create (or edit, on a page with <id>) a record."""

    entity: str
    fields: tuple[str, ...]
    parent: str | None = None
    redirect: str | None = None
    mode: Literal["create", "edit"] = "create"
    submit_label: Label | None = None


@dataclass(frozen=True, slots=True)
class MarkdownBlock:
    """`markdown`: localized text, sanitized at render time."""

    text: Label


@dataclass(frozen=True, slots=True)
class Metric:
    """One KPI of a metrics block: count or sum of a field, optionally grouped."""

    label: Label
    entity: str
    aggregate: Literal["count", "sum"] = "count"
    field: str | None = None
    group_by: str | None = None
    chart: Literal["none", "bar", "pie", "line"] = "none"


@dataclass(frozen=True, slots=True)
class MetricsBlock:
    """`metrics`: KPI cards and server-rendered SVG charts."""

    metrics: tuple[Metric, ...]


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
class PasswordPolicy:
    """Password rules of the built-in password provider."""

    min_length: int = 12
    max_age_days: int | None = None
    history: int = 0
    lockout_after: int = 10
    self_registration: bool = False


@dataclass(frozen=True, slots=True)
class AuthProvider:
    """An auth provider entry; `options` are its other keys, checked by the definition
    schema (the provider type's `options_schema`, or the base schema for the types it
    describes) and the auth checks of the validator before they get here."""

    type: str
    name: str
    options: Mapping[str, Any] = field(default_factory=frozen_map)


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """The `auth:` section."""

    providers: tuple[AuthProvider, ...] = ()
    password: PasswordPolicy | None = None
    two_factor_roles: frozenset[str] = frozenset()
    ip_portal: tuple[str, ...] = ()
    ip_roles: Mapping[str, tuple[str, ...]] = field(default_factory=frozen_map)
    #: networks allowed into the admin area (`/admin`, the builder); empty: no extra limit
    ip_builder: tuple[str, ...] = ()
    idle_minutes: int = 60
    absolute_hours: int = 12
    #: roles that may use the portal's admin area (/admin)
    admin_roles: frozenset[str] = frozenset()

    def provider(self, name: str) -> AuthProvider | None:
        """The provider entry named `name`, or None."""
        return next((p for p in self.providers if p.name == name), None)


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


AutomationTrigger = Literal["create", "update", "delete", "transition", "schedule"]


@dataclass(frozen=True, slots=True)
class Automation:
    """When `trigger` fires on `entity` (for `transition`: the transition named `transition`;
    for `schedule`: at the times of `cron`) and `when` holds, run `actions`.

    Expressions see `record`, `actor` and `before` (the record before an update; None otherwise).
    A scheduled automation over an entity runs its actions for each record (at most `limit`)
    for which `when` holds; without an entity it runs once.
    """

    name: str
    label: Label
    trigger: AutomationTrigger
    actions: tuple[Action, ...]
    entity: str | None = None
    transition: str | None = None
    cron: str | None = None
    when: Expression | None = None
    when_source: str | None = None
    enabled: bool = True
    limit: int = 1000


@dataclass(frozen=True, slots=True)
class NotificationTemplate:
    """A notification: subject and body templates per locale (Jinja, sandboxed, compiled once).

    `subject`/`body` map a locale (or `*`) to a compiled template; `link` names a page.
    """

    name: str
    label: Label
    subject: Mapping[str, Any]
    body: Mapping[str, Any]
    link: str | None = None
    email: bool = True
    in_app: bool = True

    def pick(self, locale: str, default_locale: str) -> tuple[Any, Any]:
        """The (subject, body) templates for `locale`, falling back like labels do."""

        def one(texts: Mapping[str, Any]) -> Any:
            for key in (locale, locale.split("-")[0], "*", default_locale):
                if key in texts:
                    return texts[key]
            return next(iter(texts.values()))

        return one(self.subject), one(self.body)


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

    @property
    def default_locale(self) -> str:
        """The first declared locale."""
        return self.locales[0]

    def workflow_for(self, entity: str) -> tuple[Workflow, ...]:
        """The workflows over `entity`."""
        return tuple(w for w in self.workflows.values() if w.entity == entity)

    def role_closure(self, roles: frozenset[str] | set[str]) -> frozenset[str]:
        """The given roles plus every role they inherit."""
        out: set[str] = set()
        for name in roles:
            role = self.roles.get(name)
            out |= role.closure if role else {name}
        return frozenset(out)

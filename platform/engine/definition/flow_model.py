"""The compiled flow of a portal: workflows with their transitions and timers, the actions
they run, automations and notification templates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .values import Label, Value, frozen_map

if TYPE_CHECKING:
    from ..expr.expressions import Expression


ActionKind = Literal["set", "notify", "create", "webhook", "transition"]


@dataclass(frozen=True, slots=True)
class Action:
    """One action of a transition, timer or automation.

    `set`: `values` (field → Value) on the record; `create`: a record of `entity` with `values`;
    `notify`: notification `template` to the recipients `to`; `webhook`: POST to `url`;
    `transition` (automations only): take the record's workflow transition `transition`.
    """

    kind: ActionKind
    values: Mapping[str, Value] = field(default_factory=frozen_map)
    entity: str | None = None
    template: str | None = None
    to: tuple[str, ...] = ()
    url: str | None = None
    secret: str | None = None
    event: str | None = None
    transition: str | None = None


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
    """`after_seconds` after a record entered `state` — or, with `of`, `before_seconds`
    before the moment in the record's date/datetime field `of` — while it is still there:
    take `transition` or run `actions`, if `when` holds at that moment."""

    name: str
    state: str
    after: str
    after_seconds: int
    when: Expression | None = None
    when_source: str | None = None
    transition: str | None = None
    actions: tuple[Action, ...] = ()
    #: `before: 24h, of: starts_at`: the field counted back from (None: counted from entry)
    of: str | None = None
    before: str = ""
    before_seconds: int = 0


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
    #: printouts of the record attached to the mail (rendered for each recipient)
    attach: tuple[str, ...] = ()

    def pick(self, locale: str, default_locale: str) -> tuple[Any, Any]:
        """The (subject, body) templates for `locale`, falling back like labels do."""

        def one(texts: Mapping[str, Any]) -> Any:
            for key in (locale, locale.split("-")[0], "*", default_locale):
                if key in texts:
                    return texts[key]
            return next(iter(texts.values()))

        return one(self.subject), one(self.body)


@dataclass(frozen=True, slots=True)
class CopyChild:
    """Child records copied along with their parent: the records of `entity` whose ref field
    `via` points to the copied record."""

    entity: str
    via: str


@dataclass(frozen=True, slots=True)
class CopySpec:
    """How a record of an entity is copied (`copy:` of the entity): the button's `label`
    (None: the runtime's own "Copy"), the `children` copied with it, and the fields that start afresh (`reset`: the entity's own
    by name, a child's as `<child>.<field>`)."""

    label: Label | None = None
    children: tuple[CopyChild, ...] = ()
    reset: frozenset[str] = frozenset()

    def resets(self, entity: str, field: str, *, child: bool) -> bool:
        """True when `field` of the copied record (or of a child of `entity`) starts afresh."""
        return (f"{entity}.{field}" if child else field) in self.reset

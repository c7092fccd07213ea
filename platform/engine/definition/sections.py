"""Definition sections: the part of a definition a plugin owns — its schema, checks and compile.

A section is one place in the definition whose meaning a plugin (or the core's built-in
plugin) supplies: the options of a block type (`- list: {…}` on a page), the options of a
sign-in provider type (`auth.providers[] {type: ldap, …}`) or a key of `auth:` (`two_factor`,
`ip_allowlist`). Its JSON Schema is composed into the definition schema, its check runs in the
semantic pass with located problems, and its compile step turns the checked value into the
frozen object the runtime reads (`Block.config`, `AuthProvider.config`,
`AuthConfig.sections[name]`). Built-in blocks and the password provider are sections like any
other; field types have their own registry (`FieldType`), which works the same way.

A setting exists only while the plugin that owns it is loaded: a portal version that uses a
section no loaded plugin provides fails validation, so it is never served without the code
that enforces it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ..problems import JsonPath
from .values import frozen_map

#: Where a section lives: a block type's options, a sign-in provider type's options, a key of
#: `auth:`, a payment provider type's options.
SectionPlace = Literal["block", "provider", "auth", "payment"]
PLACES: tuple[SectionPlace, ...] = ("block", "provider", "auth", "payment")


class SectionContext(Protocol):
    """What a section's check may read of the definition and how it reports problems.

    The definition is schema-valid when checks run, so a check may rely on the shapes its own
    schema promises. `page` is the raw page a block sits on (None for other places).
    """

    @property
    def page(self) -> Mapping[str, Any] | None:
        """The raw page a block sits on (None for other places)."""
        ...

    @property
    def roles(self) -> frozenset[str]:
        """Declared and built-in role names."""
        ...

    @property
    def entities(self) -> frozenset[str]:
        """Entity names (declared and built-in)."""
        ...

    @property
    def pages(self) -> Mapping[str, Any]:
        """The raw pages, by name."""
        ...

    def problem(
        self, code: str, message: str, path: JsonPath, hint: str = "", *, key: bool = False
    ) -> None:
        """Report an error at `path` (file:line:col come from the source map); `key` points
        at the mapping key instead of its value."""
        ...

    def fields_of(self, entity: str) -> Mapping[str, Any]:
        """The raw fields of `entity` (empty when unknown)."""
        ...

    def rules_of(self, entity: str) -> list[Mapping[str, Any]]:
        """The raw `rules:` of `entity` (each `{check, message}`; empty when unknown)."""
        ...

    def workflows_of(self, entity: str) -> list[Mapping[str, Any]]:
        """The raw workflows over `entity` (each with `field`, `transitions`, …)."""
        ...

    def check_roles(self, roles: Iterable[str], path: JsonPath) -> None:
        """Each role in `roles` (a list at `path`) must exist."""
        ...

    def check_entity(self, entity: str, path: JsonPath) -> bool:
        """True when `entity` exists; else a `ref-unknown-entity` problem at `path`."""
        ...

    def check_field(
        self, entity: str, field: str, path: JsonPath, *, need: str = "", system: bool = False
    ) -> bool:
        """True when `field` is a field of `entity` with the capability `need` (a field type
        attribute: `filterable`, `searchable`, `sortable`); `system` also accepts the system
        columns (`id`, `created_at`, …). Else a located problem."""
        ...

    def check_page(self, page: str, path: JsonPath, *, need_id: bool = False) -> bool:
        """True when `page` exists (and, with `need_id`, has `<id>` in its route)."""
        ...

    def suggest(self, name: str, options: Iterable[str]) -> str:
        """A `did you mean …?` hint for `name` among `options`."""
        ...

    def value_problem(self, entity: str, field: str, value: Any) -> str | None:
        """Why `value` is not a valid value of `entity.field` (as a filter or literal), or
        None when it is (or when the field is unknown: `check_field` reports that)."""
        ...


#: A section's check: `(value, path, ctx)`; it reports problems through `ctx.problem`.
SectionCheck = Callable[[Any, JsonPath, SectionContext], None]
#: A section's compile step: the checked value → the frozen object the runtime reads.
SectionCompile = Callable[[Any], object]


@dataclass(frozen=True, slots=True)
class DefinitionSection:
    """One plugin-owned part of the definition.

    `place` and `name` say where it lives: `("block", "list")` is the value of a `list:` block,
    `("provider", "ldap")` the options of a provider entry with `type: ldap` (the core adds
    `type`, `name` and `label`), `("payment", "stripe")` those of a `payments.providers`
    entry with `type: stripe` (the same keys added), `("auth", "two_factor")` the value of
    `auth.two_factor`.
    `schema` is the JSON Schema of that value (it may refer to the base schema's shared
    definitions: `#/$defs/label`, `#/$defs/role_name`, `#/$defs/name`, `#/$defs/expression`);
    `check` adds the checks a schema cannot state; `compile` makes the runtime's object
    (default: a read-only mapping of the value). `secret_options` must be written as `${ENV}`
    references. `title`, `description` and `example` (YAML of the value) are the section's
    documentation — the generated reference and the builder's editor show them.
    """

    place: SectionPlace
    name: str
    schema: Mapping[str, Any]
    title: str
    description: str = ""
    example: str = ""
    check: SectionCheck | None = None
    compile: SectionCompile | None = None
    secret_options: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Where the section lives, as written in docs and messages."""
        if self.place == "auth":
            return f"auth.{self.name}"
        if self.place == "provider":
            return f"auth.providers[type: {self.name}]"
        if self.place == "payment":
            return f"payments.providers[type: {self.name}]"
        return f"pages.*.blocks[].{self.name}"

    def compiled(self, value: Any) -> object:
        """The runtime's object for a checked value."""
        if self.compile is not None:
            return self.compile(value)
        return frozen_map(value) if isinstance(value, dict) else value


class SectionRegistry:
    """Every loaded section, by place and name (a later registration overrides an earlier)."""

    def __init__(self, sections: Iterable[DefinitionSection]) -> None:
        self._by: dict[SectionPlace, dict[str, DefinitionSection]] = {p: {} for p in PLACES}
        for section in sections:
            if section.place not in self._by:
                raise ValueError(f"section {section.name!r}: unknown place {section.place!r}")
            self._by[section.place][section.name] = section

    def at(self, place: SectionPlace) -> Mapping[str, DefinitionSection]:
        """The sections of one place, by name, in registration order."""
        return self._by[place]

    def get(self, place: SectionPlace, name: str) -> DefinitionSection | None:
        """The section at `place` named `name`, or None."""
        return self._by[place].get(name)

    def __iter__(self) -> Iterator[DefinitionSection]:
        return (s for place in PLACES for s in self._by[place].values())

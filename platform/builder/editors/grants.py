"""Grants of the permission matrix as plain data: which grants a (role, entity) cell holds,
a grant as the values of its small form, and a posted form back as a grant.

The vocabulary is the definition format's `grant` schema: actions (`read`, `create`,
`update`, `delete`, `transition`; `pay` and `refund` on payable entities), a scope (`all`, `account`, `own`, `self`,
`{parent: <ref field>}`, `{where: {field: value}}` — values may be `$actor.id`,
`$actor.account` or literals) and a field restriction (`fields: {only: [...]}` or
`{except: [...]}`). Pure functions; the views live in `editors.permissions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from werkzeug.datastructures import MultiDict

from portalis.runtime.templating import gettext as _

#: The actions a grant may list on any entity, in the schema's order.
ACTIONS = ("read", "create", "update", "delete", "transition")
#: The actions a grant may list on a payable entity besides (`payable:`): start a payment,
#: refund one.
PAYMENT_ACTIONS = ("pay", "refund")
#: The scope keywords (`parent` and `where` take a value).
SCOPES = ("all", "account", "own", "self", "parent", "where")
#: Field restriction modes.
FIELD_MODES = ("", "only", "except")


@dataclass(frozen=True, slots=True)
class CellGrant:
    """A grant of the entity that applies to the cell's role: its position in the entity's
    `permissions:`, its plain data, and the role it comes through when inherited."""

    index: int
    grant: Mapping[str, Any]
    via: str | None = None

    @property
    def shared(self) -> bool:
        """True when the grant also names other roles (saving it gives the role its own)."""
        return len(list(self.grant.get("roles") or [])) > 1

    @property
    def actions(self) -> list[str]:
        """The grant's actions."""
        return [str(a) for a in self.grant.get("actions") or []]

    @property
    def scope_kind(self) -> str:
        """`all`, `account`, `own`, `self`, `parent` or `where`."""
        scope = self.grant.get("scope")
        if isinstance(scope, Mapping):
            return "parent" if "parent" in scope else "where"
        return str(scope)

    @property
    def parent(self) -> str:
        """The reference field of a `parent` scope ('' otherwise)."""
        scope = self.grant.get("scope")
        return str(scope.get("parent", "")) if isinstance(scope, Mapping) else ""

    @property
    def where_text(self) -> str:
        """A `where` scope as `field: value` lines ('' otherwise)."""
        scope = self.grant.get("scope")
        if not isinstance(scope, Mapping) or not isinstance(scope.get("where"), Mapping):
            return ""
        return "\n".join(f"{k}: {_scalar(v)}" for k, v in scope["where"].items())

    @property
    def field_mode(self) -> str:
        """`only`, `except` or '' (no restriction)."""
        fields = self.grant.get("fields")
        if isinstance(fields, Mapping):
            return "only" if "only" in fields else "except"
        return ""

    @property
    def field_names(self) -> list[str]:
        """The fields listed by the restriction."""
        fields = self.grant.get("fields")
        if not isinstance(fields, Mapping):
            return []
        return [str(f) for f in fields.get(self.field_mode) or []]

    @property
    def scope_text(self) -> str:
        """The scope as the grid shows it."""
        kind = self.scope_kind
        if kind == "parent":
            return f"parent {self.parent}"
        if kind == "where":
            return "where " + self.where_text.replace("\n", ", ")
        return kind


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def offered_actions(spec: Mapping[str, Any], grants: list[CellGrant]) -> tuple[str, ...]:
    """The actions a cell's forms offer for an entity (`spec`, its plain definition):
    `ACTIONS`, `PAYMENT_ACTIONS` when it is payable — and any of them a grant of the cell
    lists already, so a save never drops one silently (the checks then say it does not
    belong there)."""
    listed = {a for g in grants for a in g.actions}
    payable = bool(spec.get("payable"))
    return (*ACTIONS, *(a for a in PAYMENT_ACTIONS if payable or a in listed))


def closure(roles: Mapping[str, Any], role: str) -> list[str]:
    """`role` and every declared role it inherits, transitively (nearest first)."""
    out = [role]
    for name in out:
        spec = roles.get(name)
        for parent in (spec.get("inherits") or []) if isinstance(spec, Mapping) else []:
            if parent not in out:
                out.append(str(parent))
    return out


def cell_grants(
    permissions: list[Any], roles: Mapping[str, Any], role: str
) -> tuple[list[CellGrant], list[CellGrant]]:
    """The grants naming `role` itself, and those it gets through inherited roles."""
    own: list[CellGrant] = []
    inherited: list[CellGrant] = []
    parents = closure(roles, role)[1:]
    for index, grant in enumerate(permissions):
        if not isinstance(grant, Mapping):
            continue
        named = list(grant.get("roles") or [])
        if role in named:
            own.append(CellGrant(index, grant))
        else:
            via = next((p for p in parents if p in named), None)
            if via is not None:
                inherited.append(CellGrant(index, grant, via))
    return own, inherited


@dataclass(frozen=True, slots=True)
class ParsedGrant:
    """A posted grant form: the grant for the role alone, or the errors that stop it."""

    grant: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)


def parse_grant(
    form: MultiDict[str, str],
    role: str,
    fields: list[str],
    refs: list[str],
    offered: tuple[str, ...] = ACTIONS,
) -> ParsedGrant:
    """The grant a cell form posts (for `role` alone); `fields` are the entity's field
    names, `refs` its reference fields (the possible `parent`s), `offered` the actions the
    form offers (`offered_actions`)."""
    errors: dict[str, str] = {}
    actions = [a for a in offered if a in form.getlist("actions")]
    if not actions:
        errors["actions"] = _("Pick at least one action.")
    kind = form.get("scope", "all")
    scope: Any = kind
    if kind == "parent":
        parent = form.get("parent", "")
        if parent not in refs:
            errors["parent"] = _("Pick the reference field whose record must be readable.")
        scope = {"parent": parent}
    elif kind == "where":
        where, problem = parse_where(form.get("where", ""), fields)
        if problem:
            errors["where"] = problem
        scope = {"where": where}
    elif kind not in SCOPES:
        errors["scope"] = _("Unknown scope.")
    grant: dict[str, Any] = {"roles": [role], "actions": actions, "scope": scope}
    mode = form.get("field_mode", "")
    listed = [f for f in fields if f in form.getlist("fields")]
    if mode in ("only", "except"):
        if not listed:
            errors["fields"] = _("Pick the fields of the restriction.")
        grant["fields"] = {mode: listed}
    return ParsedGrant(grant, errors)


def parse_where(text: str, fields: list[str]) -> tuple[dict[str, Any], str | None]:
    """`field: value` lines as a `where` mapping, or the problem with them."""
    where: dict[str, Any] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, raw = line.partition(":")
        name = name.strip()
        if not sep or name not in fields:
            return where, _("Write one condition a line as field: value (%(line)s).", line=line)
        value = raw.strip()
        try:
            loaded = yaml.safe_load(value) if value and not value.startswith("$") else value
        except yaml.YAMLError:
            loaded = value
        if isinstance(loaded, (dict, list)):
            loaded = value
        where[name] = loaded if value else None
    if not where:
        return where, _("Write at least one condition.")
    return where, None

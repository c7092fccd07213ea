"""What a role can do, in words: the roles and permissions editors' side panel.

Generated from the *compiled* model of the draft (its `Grant`s, with role inheritance
resolved through `Role.closure`), never from the YAML text, so the words say what the policy
enforces: "Customer can: read and create Tickets of their account, except assignee; update
Tickets they created, only subject, body." Each clause is one grant, translated into the
builder's UI language (the four catalogs); entity and role names are the definition's
labels in that language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from portalis.engine.definition.model import Grant, PortalModel
from portalis.runtime.display import N_
from portalis.runtime.templating import gettext as _

#: Action verbs in the order a sentence lists them.
ACTION_WORDS: tuple[tuple[str, str], ...] = (
    ("read", N_("read")),
    ("create", N_("create")),
    ("update", N_("update")),
    ("delete", N_("delete")),
    ("transition", N_("change the status of")),
    ("pay", N_("pay")),
    ("refund", N_("refund payments of")),
)


@dataclass(frozen=True, slots=True)
class Clause:
    """One grant in words, with the role it comes from when inherited."""

    entity: str
    text: str
    inherited_from: str | None = None


@dataclass(frozen=True, slots=True)
class RoleWords:
    """A role's label and what it can do, one clause per grant."""

    role: str
    label: str
    clauses: tuple[Clause, ...]

    @property
    def sentence(self) -> str:
        """The whole summary as one sentence."""
        if not self.clauses:
            return _("%(role)s cannot see or change any records.", role=self.label)
        joined = "; ".join(c.text for c in self.clauses)
        return _("%(role)s can: %(what)s.", role=self.label, what=joined)


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return _("%(first)s and %(last)s", first=", ".join(words[:-1]), last=words[-1])


def _condition(field: str, value: Any) -> str:
    if value == "$actor.id":
        return _("%(field)s is them", field=field)
    if value == "$actor.account":
        return _("%(field)s is their account", field=field)
    return _("%(field)s is %(value)s", field=field, value=value)


def _scoped(grant: Grant, actions: str, entity: str) -> str:
    scope = grant.scope
    if scope.kind == "all":
        return _("%(actions)s all %(entity)s", actions=actions, entity=entity)
    if scope.kind == "account":
        return _("%(actions)s %(entity)s of their account", actions=actions, entity=entity)
    if scope.kind == "own":
        return _("%(actions)s %(entity)s they created", actions=actions, entity=entity)
    if scope.kind == "self":
        return _("%(actions)s their own record of %(entity)s", actions=actions, entity=entity)
    if scope.kind == "parent":
        return _(
            "%(actions)s %(entity)s whose %(field)s they can read",
            actions=actions,
            entity=entity,
            field=scope.field or "",
        )
    conditions = _join([_condition(k, v) for k, v in scope.where])
    return _(
        "%(actions)s %(entity)s where %(conditions)s",
        actions=actions,
        entity=entity,
        conditions=conditions,
    )


def grant_words(grant: Grant, entity_label: str) -> str:
    """One grant as a clause: actions, entity, scope and field restriction."""
    verbs = [_(word) for action, word in ACTION_WORDS if action in grant.actions]
    text = _scoped(grant, _join(verbs), entity_label)
    if grant.fields_except:
        text += ", " + _("except %(fields)s", fields=", ".join(sorted(grant.fields_except)))
    if grant.fields_only is not None:
        text += ", " + _("only %(fields)s", fields=", ".join(sorted(grant.fields_only)))
    return text


def role_words(model: PortalModel, role: str, locale: str) -> RoleWords:
    """What `role` (with every role it inherits) can do in the compiled `model`; labels in
    `locale`."""
    default = model.locales[0] if model.locales else "en"

    def text(label: Any, fallback: str) -> str:
        return str(label.get(locale, default) or fallback) if label is not None else fallback

    spec = model.roles.get(role)
    closure = spec.closure if spec is not None and spec.closure else frozenset({role})
    clauses = []
    for entity in model.entities.values():
        plural = text(entity.plural_label, entity.name)
        for grant in entity.grants:
            mine = grant.roles & closure
            if not mine:
                continue
            source = None if role in grant.roles else sorted(mine)[0]
            clauses.append(Clause(entity.name, grant_words(grant, plural), source))
    label = text(spec.label, role) if spec is not None else role
    return RoleWords(role, label, tuple(clauses))


def all_role_words(model: PortalModel, roles: Iterable[str], locale: str) -> list[RoleWords]:
    """`role_words` of each of `roles` that the model knows."""
    return [role_words(model, r, locale) for r in roles if r in model.roles]

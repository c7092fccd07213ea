"""Built-in entities (`account`, `user`) and roles, merged with a definition's extensions.

A definition extends a built-in entity by declaring it: its fields are added after the
built-in ones, its grants after the built-in grants; labels and other keys override.
"""

from __future__ import annotations

import copy
from typing import Any

from .payable_spec import PAID_ONLINE, PAID_ONLINE_LABEL

#: The role of the system actor (automations, timers, workflow actions): it holds a grant of
#: every action with scope `all` on every entity. Definitions may not declare it.
SYSTEM_ROLE = "system"

BUILTIN_ROLE_LABELS: dict[str, dict[str, str]] = {
    "anonymous": {"en": "Visitor", "de": "Besucher", "fr": "Visiteur", "es": "Visitante"},
    "authenticated": {
        "en": "Signed-in user",
        "de": "Angemeldeter Benutzer",
        "fr": "Utilisateur connecté",
        "es": "Usuario conectado",
    },
}

BUILTIN_ENTITIES: dict[str, dict[str, Any]] = {
    "account": {
        "label": {"en": "Account", "de": "Konto", "fr": "Compte", "es": "Cuenta"},
        "plural_label": {"en": "Accounts", "de": "Konten", "fr": "Comptes", "es": "Cuentas"},
        "title_field": "name",
        "search": ["name"],
        "fields": {
            "name": {
                "type": "string",
                "required": True,
                "max_length": 200,
                "label": {"en": "Name", "de": "Name", "fr": "Nom", "es": "Nombre"},
            },
        },
        "permissions": [
            # every signed-in member sees their own account
            {"roles": ["authenticated"], "actions": ["read"], "scope": "account"},
        ],
    },
    "user": {
        "label": {"en": "User", "de": "Benutzer", "fr": "Utilisateur", "es": "Usuario"},
        "plural_label": {
            "en": "Users",
            "de": "Benutzer",
            "fr": "Utilisateurs",
            "es": "Usuarios",
        },
        "title_field": "name",
        "search": ["name", "email"],
        "fields": {
            "email": {
                "type": "email",
                "required": True,
                "unique": True,
                "label": {"en": "E-mail", "de": "E-Mail", "fr": "E-mail", "es": "Correo"},
            },
            "name": {
                "type": "string",
                "required": True,
                "max_length": 200,
                "label": {"en": "Name", "de": "Name", "fr": "Nom", "es": "Nombre"},
            },
            "account": {
                "type": "ref",
                "to": "account",
                "on_delete": "restrict",
                "label": {"en": "Account", "de": "Konto", "fr": "Compte", "es": "Cuenta"},
            },
            "locale": {
                "type": "string",
                "max_length": 10,
                "label": {"en": "Language", "de": "Sprache", "fr": "Langue", "es": "Idioma"},
            },
        },
        "permissions": [
            {
                "roles": ["authenticated"],
                "actions": ["read"],
                "scope": "self",
                "fields": {"only": ["email", "name", "account", "locale"]},
            },
            {
                "roles": ["authenticated"],
                "actions": ["update"],
                "scope": "self",
                "fields": {"only": ["name", "locale"]},
            },
        ],
    },
}


def merged_entities(declared: dict[str, Any]) -> dict[str, Any]:
    """Entities of a definition with the built-ins merged in (built-in fields first).

    Built-in grants are kept apart under `__builtin_permissions__` so that the indexes of
    `permissions` still match the definition's own source positions. A payable entity gets
    the built-in field `paid_online` (`with_paid_online`).
    """
    result: dict[str, Any] = {}
    for name, builtin in BUILTIN_ENTITIES.items():
        entity = copy.deepcopy(builtin)
        entity["__builtin_permissions__"] = entity.pop("permissions")
        entity["permissions"] = []
        extension = declared.get(name)
        if isinstance(extension, dict):
            for key, value in extension.items():
                if key == "fields" and isinstance(value, dict):
                    entity["fields"].update(value)
                else:
                    entity[key] = value
        entity["__builtin__"] = True
        entity["__builtin_fields__"] = sorted(builtin["fields"])
        result[name] = entity
    for name, entity in declared.items():
        if name not in result:
            result[name] = entity
    return {name: with_paid_online(entity) for name, entity in result.items()}


def with_paid_online(entity: Any) -> Any:
    """A payable entity with its built-in money field `paid_online`: readonly, 0 by default,
    in the currencies of its `payable.amount` field. Unchanged when it is not payable or
    declares the field itself (the payable checks refuse that)."""
    if not isinstance(entity, dict) or not isinstance(entity.get("payable"), dict):
        return entity
    fields = entity.get("fields")
    if not isinstance(fields, dict) or PAID_ONLINE in fields:
        return entity
    amount = fields.get(entity["payable"].get("amount"))
    spec: dict[str, Any] = {
        "type": "money",
        "readonly": True,
        "default": 0,
        "label": dict(PAID_ONLINE_LABEL),
    }
    if isinstance(amount, dict) and amount.get("type") == "money":
        spec.update(
            {k: copy.deepcopy(amount[k]) for k in ("currency", "currencies") if k in amount}
        )
    out = dict(entity)
    out["fields"] = {**fields, PAID_ONLINE: spec}
    out["__builtin_fields__"] = [*(entity.get("__builtin_fields__") or ()), PAID_ONLINE]
    return out

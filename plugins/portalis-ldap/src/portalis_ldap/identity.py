"""The identity a directory asserts: DN as subject, attributes as claims, group DNs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from portalis.web import ExternalIdentity

from .inputs import normalise_dn
from .options import LdapOptions


def claims_of(options: LdapOptions, attributes: Mapping[str, list[str]]) -> dict[str, object]:
    """The requested attributes under the names the entry's options use (LDAP attribute
    names are case-insensitive; `account_from: attribute:<name>` reads these keys). Single
    values are unwrapped; the password is never requested, so it is never here."""
    by_lower = {key.lower(): values for key, values in attributes.items()}
    claims: dict[str, object] = {}
    for name in options.attributes:
        values = by_lower.get(name.lower())
        if values:
            claims[name] = values[0] if len(values) == 1 else list(values)
    return claims


def _first(attributes: Mapping[str, list[str]], name: str) -> str | None:
    for key, values in attributes.items():
        if key.lower() == name.lower() and values:
            return values[0].strip() or None
    return None


def make_identity(
    provider: str,
    options: LdapOptions,
    dn: str,
    attributes: Mapping[str, list[str]],
    searched_groups: Iterable[str],
) -> ExternalIdentity:
    """The identity for the entry `dn`: issuer the directory URL, subject the normalised DN,
    the e-mail address as verified (the directory is the authority for it), groups from
    `roles_from` plus the group search (normalised DNs, deduplicated)."""
    listed = [
        v for key, values in attributes.items() if key.lower() == options.roles_from.lower()
        for v in values
    ]  # fmt: skip
    groups = tuple(dict.fromkeys(normalise_dn(g) for g in [*listed, *searched_groups]))
    email = _first(attributes, options.email_attribute)
    return ExternalIdentity(
        provider=provider,
        issuer=options.url,
        subject=normalise_dn(dn),
        email=email,
        email_verified=email is not None,
        name=_first(attributes, options.name_attribute),
        claims=claims_of(options, attributes),
        groups=groups,
    )

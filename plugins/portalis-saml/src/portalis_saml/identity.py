"""A verified SAML assertion as the core's `ExternalIdentity`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from saml2.saml import NAMEID_FORMAT_EMAILADDRESS

from portalis.web import ExternalIdentity, LoginRefused

#: Attributes tried for the e-mail address and the display name when the entry names none.
EMAIL_ATTRIBUTES = ("mail", "email", "emailAddress")
NAME_ATTRIBUTES = ("displayName", "cn")


def attributes(assertion: Any, ava: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every attribute of the assertion by friendly name (pysaml2's `ava`) and by its raw
    name, values as lists of strings."""
    claims: dict[str, list[str]] = {str(k): [str(v) for v in vals] for k, vals in ava.items()}
    for statement in assertion.attribute_statement or ():
        for attribute in statement.attribute or ():
            values = [str(v.text).strip() for v in attribute.attribute_value or () if v.text]
            for key in (attribute.name, attribute.friendly_name):
                if key and key not in claims:
                    claims[str(key)] = values
    return claims


def _first(claims: Mapping[str, list[str]], names: tuple[str, ...]) -> str | None:
    for name in names:
        for value in claims.get(name) or ():
            if value.strip():
                return value.strip()
    return None


def to_identity(
    provider: str, issuer: str, assertion: Any, ava: Mapping[str, Any], options: Mapping[str, Any]
) -> ExternalIdentity:
    """The identity an assertion (already verified) describes, read as the entry says."""
    name_id = assertion.subject.name_id if assertion.subject is not None else None
    if name_id is None or not (name_id.text or "").strip():
        raise LoginRefused("no_name_id")
    subject = name_id.text.strip()
    claims = attributes(assertion, ava)
    claims["name_id"] = [subject]
    if name_id.format:
        claims["name_id_format"] = [str(name_id.format)]
    email_attr = options.get("email_attribute")
    email = _first(claims, (str(email_attr),) if email_attr else EMAIL_ATTRIBUTES)
    if email is None and (name_id.format == NAMEID_FORMAT_EMAILADDRESS or "@" in subject):
        email = subject
    name_attr = options.get("name_attribute")
    name = _first(claims, (str(name_attr),) if name_attr else NAME_ATTRIBUTES)
    roles_from = options.get("roles_from")
    groups = tuple(claims.get(str(roles_from)) or ()) if roles_from else ()
    # a NameID is unique only with its format (a transient and a persistent id may collide)
    bound_subject = subject if not name_id.format else f"{subject}|{name_id.format}"
    return ExternalIdentity(
        provider=provider,
        issuer=issuer,
        subject=bound_subject,
        email=email,
        # the address comes from the IdP's signed assertion: the IdP vouches for it
        email_verified=email is not None,
        name=name,
        claims=claims,
        groups=groups,
    )

"""Verified claims → the `ExternalIdentity` the core maps to a user."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portalis.web import ExternalIdentity

from .options import OidcOptions


def merge_userinfo(id_claims: Mapping[str, Any], userinfo: Mapping[str, Any]) -> dict[str, Any]:
    """The ID token's claims completed by the userinfo answer. The token's registered claims
    (iss, sub, aud, nonce, …) always win: userinfo is not signed, it only adds profile data."""
    merged = {k: v for k, v in userinfo.items() if k not in _TOKEN_ONLY}
    merged.update(id_claims)
    for key, value in userinfo.items():
        # profile claims the token left out or sent empty come from userinfo
        if key not in _TOKEN_ONLY and id_claims.get(key) in (None, "", []):
            merged[key] = value
    return merged


_TOKEN_ONLY = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash", "c_hash", "auth_time"}
)


def _truthy(value: Any) -> bool:
    """`email_verified` as providers send it: a boolean, or the strings "true"/"false"."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


def _groups(value: Any) -> tuple[str, ...]:
    """A groups/roles claim as a tuple: a list of values, or one string (one value)."""
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if v is not None and str(v) != "")
    if isinstance(value, str) and value:
        return (value,)
    return ()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def to_identity(
    entry_name: str, options: OidcOptions, claims: Mapping[str, Any]
) -> ExternalIdentity:
    """The identity for verified `claims` (bound by `iss` and `sub`)."""
    return ExternalIdentity(
        provider=entry_name,
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
        email=_text(claims.get(options.email_claim)),
        email_verified=_truthy(claims.get("email_verified")),
        name=_text(claims.get(options.name_claim)),
        claims=dict(claims),
        groups=_groups(claims.get(options.roles_from)) if options.roles_from else (),
    )

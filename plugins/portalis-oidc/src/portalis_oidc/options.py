"""The options of an `type: oidc` provider entry, read once when the entry is bound."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class OidcOptions:
    """What the OIDC provider needs from its entry (account and role mapping options are
    read by the core's `auth.external`)."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    roles_from: str | None
    redirect_uri: str | None
    email_claim: str
    name_claim: str

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> OidcOptions:
        """Parse and check the entry's options (ValueError names the problem)."""
        issuer = str(options.get("issuer") or "").strip()
        parts = urlsplit(issuer)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"oidc issuer {issuer!r} is not an absolute https URL")
        if parts.query or parts.fragment:
            raise ValueError(f"oidc issuer {issuer!r} must not have a query or fragment")
        client_id = str(options.get("client_id") or "")
        if not client_id:
            raise ValueError("oidc client_id is empty")
        raw_scopes = options.get("scopes") or ("email", "profile")
        # openid is always requested, once, first
        scopes = tuple(dict.fromkeys(["openid", *(str(s) for s in raw_scopes)]))
        redirect_uri = options.get("redirect_uri")
        return cls(
            issuer=issuer,
            client_id=client_id,
            client_secret=str(options.get("client_secret") or ""),
            scopes=scopes,
            roles_from=str(options["roles_from"]) if options.get("roles_from") else None,
            redirect_uri=str(redirect_uri) if redirect_uri else None,
            email_claim=str(options.get("email_claim") or "email"),
            name_claim=str(options.get("name_claim") or "name"),
        )

    @property
    def discovery_url(self) -> str:
        """`<issuer>/.well-known/openid-configuration` (OIDC Discovery 1.0 §4)."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

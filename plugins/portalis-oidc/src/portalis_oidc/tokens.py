"""ID token verification (OIDC Core §3.1.3.7), done by authlib.jose — no crypto of our own.

Only asymmetric algorithms are accepted: `alg: none` and every HMAC algorithm are refused
before any key is looked at, so a token "signed" with the provider's public key used as an
HMAC secret cannot pass. The key comes from the provider's key set by `kid` and must be of
the type the algorithm needs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from portalis.web import LoginRefused

from .http import FetchFailed
from .jose import JOSE_ERRORS, CodeIDToken, JsonWebToken
from .metadata import ProviderMetadata

#: Signature algorithms an ID token may use, and the key type each needs.
ALGORITHMS: Mapping[str, str] = {
    "RS256": "RSA", "RS384": "RSA", "RS512": "RSA", "PS256": "RSA",
    "ES256": "EC", "ES384": "EC", "EdDSA": "OKP",
}  # fmt: skip
#: Seconds of clock skew tolerated for exp, iat and nbf.
LEEWAY = 60


def verify_id_token(
    token: str,
    metadata: ProviderMetadata,
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The verified claims of `token`; raises `LoginRefused` with an audit reason
    (`id_token_signature`, `id_token_alg`, `id_token_claims`, …) otherwise."""
    jwt = JsonWebToken(list(ALGORITHMS))
    failed_fetch: list[FetchFailed] = []

    def key_for(header: Mapping[str, Any], payload: Any) -> Any:
        alg = header.get("alg")
        if alg not in ALGORITHMS:  # authlib checks too; refuse before any key look-up
            raise LoginRefused("id_token_alg")
        try:
            return metadata.key(header.get("kid"), ALGORITHMS[str(alg)])
        except FetchFailed as exc:
            failed_fetch.append(exc)
            raise

    try:
        claims = jwt.decode(
            token,
            key_for,
            claims_cls=CodeIDToken,
            claims_options={
                "iss": {"essential": True, "value": issuer},
                "aud": {"essential": True, "value": client_id},
                "sub": {"essential": True},
                "exp": {"essential": True},
                "iat": {"essential": True},
            },
            claims_params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
        )
    except LoginRefused:
        raise
    except FetchFailed as exc:
        raise LoginRefused(f"id_token_{exc.reason}") from None
    except JOSE_ERRORS as exc:
        unsupported = getattr(exc, "error", "") == "unsupported_algorithm"
        reason = "id_token_alg" if unsupported else "id_token_signature"
        raise LoginRefused(reason) from None
    except (ValueError, TypeError, KeyError):  # malformed token or key mismatch
        raise LoginRefused("id_token_malformed") from None
    try:
        claims.validate(now=int(now if now is not None else time.time()), leeway=LEEWAY)
    except JOSE_ERRORS as exc:
        raise LoginRefused(f"id_token_{_claim_reason(exc)}") from None
    verified = dict(claims)
    # belt and braces: the two bindings everything else relies on, checked explicitly
    audiences = verified["aud"] if isinstance(verified["aud"], list) else [verified["aud"]]
    if verified.get("iss") != issuer or client_id not in audiences:
        raise LoginRefused("id_token_claims")
    if not isinstance(verified.get("sub"), str) or not verified["sub"]:
        raise LoginRefused("id_token_claims")
    return verified


def _claim_reason(exc: Exception) -> str:
    """`invalid_claim_aud`, `expired_token`, … from authlib's error (for the audit log)."""
    error = str(getattr(exc, "error", "") or "claims")
    claim = getattr(exc, "claim_name", None) or getattr(exc, "claim", None)
    return f"{error}_{claim}" if claim else error

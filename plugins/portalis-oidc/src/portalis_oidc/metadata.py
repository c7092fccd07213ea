"""The provider's discovery document and signing keys, fetched lazily and cached with a TTL.

Binding a portal version never touches the network: the first sign-in fetches discovery,
the first callback the key set. A token signed with a key id the cached set does not know
makes one refetch (the provider rotated its keys); keys only ever come from the `jwks_uri`
of the checked discovery document, over the back channel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .http import Backchannel, FetchFailed
from .jose import JsonWebKey, KeySet

#: How long discovery and keys are reused before they are fetched again.
TTL_SECONDS = 3600.0
#: Endpoints the authorization-code flow cannot do without.
REQUIRED = ("authorization_endpoint", "token_endpoint", "jwks_uri")


@dataclass(frozen=True, slots=True)
class Discovery:
    """The parts of the discovery document the flow uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None

    @classmethod
    def of(cls, doc: dict[str, Any], issuer: str) -> Discovery:
        """Check the document: its `issuer` is exactly the configured one (OIDC Discovery
        §4.3, so a document served elsewhere cannot impersonate the issuer)."""
        if doc.get("issuer") != issuer:
            raise FetchFailed("issuer_mismatch", f"discovery names issuer {doc.get('issuer')!r}")
        for key in REQUIRED:
            if not isinstance(doc.get(key), str) or not doc[key]:
                raise FetchFailed("discovery_incomplete", f"no {key}")
        userinfo = doc.get("userinfo_endpoint")
        return cls(
            issuer=issuer,
            authorization_endpoint=doc["authorization_endpoint"],
            token_endpoint=doc["token_endpoint"],
            jwks_uri=doc["jwks_uri"],
            userinfo_endpoint=userinfo if isinstance(userinfo, str) and userinfo else None,
        )


class ProviderMetadata:
    """Discovery and JWKS of one issuer, cached for `ttl` seconds (thread-safe)."""

    def __init__(
        self,
        backchannel: Backchannel,
        discovery_url: str,
        issuer: str,
        *,
        ttl: float = TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backchannel = backchannel
        self.discovery_url = discovery_url
        self.issuer = issuer
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._discovery: tuple[float, Discovery] | None = None
        self._keys: tuple[float, KeySet] | None = None
        #: how often each document was fetched (observable by tests and diagnostics)
        self.fetches = {"discovery": 0, "jwks": 0}

    def discovery(self) -> Discovery:
        """The (cached) discovery document; FetchFailed when unreachable or invalid."""
        with self._lock:
            if self._discovery is not None and self.clock() - self._discovery[0] < self.ttl:
                return self._discovery[1]
            self.fetches["discovery"] += 1
            found = Discovery.of(self.backchannel.get_json(self.discovery_url), self.issuer)
            self._discovery = (self.clock(), found)
            return found

    def key(self, kid: str | None, kty: str) -> Any:
        """The signing key with `kid` (or the only key of type `kty` when the token names no
        kid); refetches the key set once when it does not know the kid."""
        found = self._find(self._key_set(refresh=False), kid, kty)
        if found is None:
            found = self._find(self._key_set(refresh=True), kid, kty)
        if found is None:
            raise FetchFailed("unknown_key", f"no key {kid!r} in the provider's key set")
        return found

    def _key_set(self, *, refresh: bool) -> KeySet:
        with self._lock:
            if not refresh and self._keys is not None and self.clock() - self._keys[0] < self.ttl:
                return self._keys[1]
        uri = self.discovery().jwks_uri
        doc = self.backchannel.get_json(uri)
        keys = doc.get("keys")
        if not isinstance(keys, list):
            raise FetchFailed("jwks_invalid", "no keys list")
        usable = [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]
        try:
            key_set = JsonWebKey.import_key_set({"keys": usable})
        except Exception as exc:  # authlib raises several types for bad keys
            raise FetchFailed("jwks_invalid", type(exc).__name__) from None
        with self._lock:
            self.fetches["jwks"] += 1
            self._keys = (self.clock(), key_set)
        return key_set

    @staticmethod
    def _find(key_set: KeySet, kid: str | None, kty: str) -> Any:
        candidates = [k for k in key_set.keys if k.kty == kty]
        if kid is not None:
            return next((k for k in candidates if k.kid == kid), None)
        # no kid in the token: only unambiguous when the provider has one such key
        return candidates[0] if len(candidates) == 1 else None

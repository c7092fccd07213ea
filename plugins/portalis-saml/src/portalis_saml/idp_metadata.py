"""Reading the identity provider's metadata: a file of the definition bundle, or an https URL
fetched once at bind time through the outbound policy (SECURITY A.34: no SSRF)."""

from __future__ import annotations

from collections.abc import Mapping

from portalis.api import OutboundPolicy, OutboundRefused

#: Metadata larger than this is refused (federation aggregates belong in an MDQ service).
MAX_METADATA_BYTES = 5 * 1024 * 1024
FETCH_TIMEOUT = 10.0


def is_url(source: str) -> bool:
    """True when `idp_metadata` names a URL rather than a bundle file."""
    return source.lower().startswith(("https://", "http://"))


def load_idp_metadata(source: str, files: Mapping[str, str], env: Mapping[str, str]) -> str:
    """The metadata XML named by `source`; ValueError says why it cannot be read."""
    if not is_url(source):
        path = source.removeprefix("./")
        if path not in files:
            raise ValueError(f"SAML idp_metadata file {source!r} is not in the definition")
        return files[path]
    return fetch_metadata(source, OutboundPolicy.parse(env.get("PORTALIS_OUTBOUND_ALLOW")))


def fetch_metadata(url: str, policy: OutboundPolicy) -> str:
    """GET `url` through `policy` (pinned addresses, no redirects, size-limited)."""
    try:
        target = policy.check(url)
    except OutboundRefused as exc:
        raise ValueError(f"SAML idp_metadata URL refused: {exc}") from None
    conn = target.connection(timeout=FETCH_TIMEOUT)
    try:
        conn.request("GET", target.path, headers={"Accept": "application/samlmetadata+xml"})
        response = conn.getresponse()
        body = response.read(MAX_METADATA_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"SAML idp_metadata could not be fetched: {exc}") from None
    finally:
        conn.close()
    if response.status != 200:
        raise ValueError(f"SAML idp_metadata URL answered HTTP {response.status}")
    if len(body) > MAX_METADATA_BYTES:
        raise ValueError("SAML idp_metadata is larger than 5 MB")
    return body.decode("utf-8")

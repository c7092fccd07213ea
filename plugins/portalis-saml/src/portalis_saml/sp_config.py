"""The pysaml2 service-provider client for one bound entry and one set of URLs.

The entity id defaults to the metadata URL and the ACS URL is absolute; both depend on the
host the portal is served under when PORTALIS_BASE_URL is unset, so clients are built per
(entity id, ACS URL) and cached.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from typing import Any

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig

from .keys import KeyFiles

#: Clock skew tolerated between the IdP and us (seconds) for NotBefore/NotOnOrAfter.
LEEWAY_SECONDS = 60
#: Cached clients per bound provider (distinct host names the portal is reached under).
CACHE_SIZE = 16
XMLSEC = shutil.which("xmlsec1") or "/usr/bin/xmlsec1"


@dataclass(frozen=True, slots=True)
class SpUrls:
    """Where this service provider lives for one request."""

    entity_id: str
    acs_url: str


def sp_config(urls: SpUrls, idp_metadata: str, keys: KeyFiles) -> SPConfig:
    """A pysaml2 SP configuration: signed assertions required, no unsolicited responses."""
    settings: dict[str, Any] = {
        "entityid": urls.entity_id,
        "xmlsec_binary": XMLSEC,
        "metadata": {"inline": [idp_metadata]},
        "accepted_time_diff": LEEWAY_SECONDS,
        "allow_unknown_attributes": True,
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [(urls.acs_url, BINDING_HTTP_POST)],
                },
                "allow_unsolicited": False,
                "authn_requests_signed": keys.signing,
                "want_assertions_signed": True,
                "want_response_signed": False,
                "want_assertions_or_response_signed": True,
                "only_use_keys_in_metadata": True,
            }
        },
    }
    if keys.key_file and keys.cert_file:
        settings["key_file"] = keys.key_file
        settings["cert_file"] = keys.cert_file
        # the same pair decrypts encrypted assertions
        settings["encryption_keypairs"] = [{"key_file": keys.key_file, "cert_file": keys.cert_file}]
    config = SPConfig()
    config.load(settings)
    return config


class ClientCache:
    """Saml2Client objects of one bound provider, by `SpUrls`."""

    def __init__(self, idp_metadata: str, keys: KeyFiles) -> None:
        self.idp_metadata = idp_metadata
        self.keys = keys
        self._clients: dict[SpUrls, Saml2Client] = {}
        self._lock = threading.Lock()

    def client(self, urls: SpUrls) -> Saml2Client:
        """The client for `urls` (built on first use)."""
        found = self._clients.get(urls)
        if found is None:
            found = Saml2Client(config=sp_config(urls, self.idp_metadata, self.keys))
            with self._lock:
                if len(self._clients) >= CACHE_SIZE:
                    self._clients.pop(next(iter(self._clients)))
                self._clients[urls] = found
        return found


def idp_entity_id(idp_metadata: str) -> tuple[str, str]:
    """The IdP's entity id and its HTTP-Redirect single sign-on URL (ValueError otherwise)."""
    config = sp_config(SpUrls("urn:portalis:probe", "https://probe.invalid/acs"), idp_metadata,
                       KeyFiles(None, None))  # fmt: skip
    idps = config.metadata.identity_providers()
    if len(idps) != 1:
        raise ValueError(
            f"SAML idp_metadata must describe exactly one identity provider, found {len(idps)}"
        )
    entity_id = idps[0]
    locations = config.metadata.single_sign_on_service(entity_id, BINDING_HTTP_REDIRECT)
    if not locations:
        raise ValueError("the SAML identity provider offers no HTTP-Redirect sign-on endpoint")
    return entity_id, str(locations[0]["location"])

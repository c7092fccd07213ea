"""The plugin's parts on their own: assertion checks, key files, metadata sources, replay table."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from portalis_saml.checks import check_assertion, expiry
from portalis_saml.identity import to_identity
from portalis_saml.idp_metadata import load_idp_metadata
from portalis_saml.keys import write_key_files
from portalis_saml.replay import remember_assertion, saml_metadata
from portalis_saml.sp_config import SpUrls, idp_entity_id
from saml2.samlp import response_from_string
from saml_idp import SamlIdP, set_attribute, set_text

from portalis.api import utcnow
from portalis.testing.inspection import create_engine
from portalis.web import LoginRefused

URLS = SpUrls(
    "https://portal.example/p/auth/corp/metadata", "https://portal.example/p/auth/corp/acs"
)
REQUEST_ID = "id-0123456789abcdef"


def parsed(idp: SamlIdP, *mutations: object) -> tuple[object, object]:
    """A response of the IdP (signed, for `URLS`) parsed into pysaml2 objects."""
    idp.mutate = list(mutations)  # type: ignore[arg-type]
    xml = idp.response_xml(REQUEST_ID, URLS.acs_url, URLS.entity_id)
    response = response_from_string(xml)
    return response, response.assertion[0]


@pytest.fixture
def trusting_idp(idp: SamlIdP) -> SamlIdP:
    """The IdP, knowing the SP of `URLS` (it looks the SP up when it answers)."""
    sp = (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'entityID="{URLS.entity_id}"><md:SPSSODescriptor protocolSupportEnumeration='
        '"urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding='
        f'"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{URLS.acs_url}" '
        'index="0"/></md:SPSSODescriptor></md:EntityDescriptor>'
    )
    idp.trust(sp)
    return idp


def test_checks_accept_an_honest_assertion_and_map_it(trusting_idp: SamlIdP) -> None:
    response, assertion = parsed(trusting_idp)
    check_assertion(response, assertion, URLS, REQUEST_ID)
    assert expiry(assertion) > utcnow() + timedelta(minutes=4)
    options = {"roles_from": "eduPersonAffiliation"}
    identity = to_identity("corp", trusting_idp.entity_id, assertion, {}, options)
    assert identity.subject.startswith(trusting_idp.user.name_id + "|urn:oasis")
    assert identity.email == trusting_idp.user.attributes["mail"][0]
    assert identity.email_verified and identity.name == "Lena Kraus"
    assert identity.groups == ("member", "admins")
    assert identity.claims["o"] == ["Acme GmbH"]


@pytest.mark.parametrize(
    ("mutation", "reason"),
    [
        (set_text("Audience", "https://evil.example/sp"), "wrong_audience"),
        (set_attribute("Recipient", "https://evil.example/acs"), "no_valid_subject_confirmation"),
        (set_attribute("Destination", "https://evil.example/acs", "Response"), "wrong_destination"),
        (set_attribute("NotOnOrAfter", "2020-01-01T00:00:00Z", "Conditions"), "expired"),
        (set_attribute("NotBefore", "2099-01-01T00:00:00Z", "Conditions"), "not_yet_valid"),
        (set_attribute("InResponseTo", "id-other", "Response"), "wrong_in_response_to"),
        (
            set_attribute("InResponseTo", "id-other", "SubjectConfirmationData"),
            "no_valid_subject_confirmation",
        ),
        (
            set_attribute("NotOnOrAfter", "2020-01-01T00:00:00Z", "SubjectConfirmationData"),
            "no_valid_subject_confirmation",
        ),
    ],
)
def test_checks_refuse(trusting_idp: SamlIdP, mutation: object, reason: str) -> None:
    # pysaml2 catches most of these first; these checks hold even if its configuration changed
    response, assertion = parsed(trusting_idp, mutation)
    with pytest.raises(LoginRefused) as refused:
        check_assertion(response, assertion, URLS, REQUEST_ID)
    assert refused.value.reason == reason


def test_checks_refuse_unsigned(trusting_idp: SamlIdP) -> None:
    trusting_idp.sign = False
    response, assertion = parsed(trusting_idp)
    with pytest.raises(LoginRefused, match="assertion_unsigned"):
        check_assertion(response, assertion, URLS, REQUEST_ID)


def test_key_files_are_private_and_removed(sp_keys: tuple[str, str]) -> None:
    class Owner:
        pass

    owner = Owner()
    cert, key = sp_keys
    files = write_key_files(owner, cert, key.replace("\n", "\\n"))  # env style \n accepted
    assert files.signing and files.key_file and files.cert_file
    folder = Path(files.key_file).parent
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(files.key_file).st_mode) == 0o600
    assert Path(files.key_file).read_text().startswith("-----BEGIN PRIVATE KEY-----\n")
    del owner
    assert not folder.exists()
    with pytest.raises(ValueError, match="set both or neither"):
        write_key_files(Owner(), cert, None)
    assert not write_key_files(Owner(), None, None).signing


def test_idp_metadata_from_bundle_and_url(idp: SamlIdP) -> None:
    files = {"sso/idp.xml": idp.metadata_xml()}
    assert idp_entity_id(load_idp_metadata("./sso/idp.xml", files, {})) == (
        idp.entity_id,
        f"{idp.base_url}/sso",
    )
    with pytest.raises(ValueError, match="not in the definition"):
        load_idp_metadata("other.xml", files, {})
    # A.34: loopback and plain http are refused unless the outbound allow-list says otherwise
    with pytest.raises(ValueError, match="refused"):
        load_idp_metadata(f"{idp.base_url}/metadata", {}, {})
    fetched = load_idp_metadata(
        f"{idp.base_url}/metadata", {}, {"PORTALIS_OUTBOUND_ALLOW": "127.0.0.1"}
    )
    assert idp_entity_id(fetched)[0] == idp.entity_id
    with pytest.raises(ValueError, match="HTTP 404"):
        load_idp_metadata(f"{idp.base_url}/nothing", {}, {"PORTALIS_OUTBOUND_ALLOW": "127.0.0.1"})


def test_replay_table(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        saml_metadata.create_all(engine)
        later = utcnow() + timedelta(minutes=5)
        assert remember_assertion(engine, "p", "corp", "_a1", later)
        assert not remember_assertion(engine, "p", "corp", "_a1", later)  # replayed
        assert remember_assertion(engine, "p", "other", "_a1", later)  # per provider
        assert remember_assertion(engine, "q", "corp", "_a1", later)  # per portal
        assert remember_assertion(engine, "p", "corp", "_old", utcnow() - timedelta(seconds=1))
        assert remember_assertion(engine, "p", "corp", "_a2", later)  # purges expired rows
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT COUNT(*) FROM portalis_saml_assertion"))
            assert count.scalar() == 4
    finally:
        engine.dispose()

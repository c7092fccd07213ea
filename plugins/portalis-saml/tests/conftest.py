"""Fixtures of the SAML plugin's tests: both databases, a loopback IdP, a deployed portal."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from saml_idp import SamlIdP, TestUser, self_signed
from saml_support import saml_definition

from portalis.testing.databases import postgres_available, postgres_database, sqlite_database
from portalis.testing.pytest_plugin import (
    database_url,  # noqa: F401 - the fixture
    require_service,
)
from portalis.testing.web import WebPortal


@pytest.fixture(scope="session")
def sp_keys() -> tuple[str, str]:
    """The service provider's certificate and key (PEM)."""
    return self_signed("portalis-test-sp")


@pytest.fixture(scope="session")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamlIdP]:
    """A pysaml2 identity provider on 127.0.0.1 (one per test session)."""
    server = SamlIdP(tmp_path_factory.mktemp("idp")).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def honest_idp(idp: SamlIdP, request: pytest.FixtureRequest) -> None:
    """Every test starts with honest responses for a user of its own."""
    idp.reset()
    digest = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:10]
    idp.user = TestUser(name_id=f"u-{digest}")
    idp.user.attributes["mail"] = [f"u-{digest}@acme.test"]


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def web(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    idp: SamlIdP,
    sp_keys: tuple[str, str],
) -> Iterator[WebPortal]:
    """The b2c portal with the `corp` SAML provider, once per database for the whole session
    (deploying takes seconds; every test uses users of its own), trusted by `idp`."""
    if request.param == "postgresql":
        require_service(postgres_available())
    base = tmp_path_factory.mktemp(f"saml-{request.param}")
    cert, key = sp_keys
    folder = saml_definition(base / "portal", idp.metadata_xml())
    env = {"SAML_SP_CERT": cert, "SAML_SP_KEY": key}
    databases = postgres_database() if request.param == "postgresql" else sqlite_database(base)
    with databases as url:
        served = WebPortal.deploy(url, base / "instance", folder, env=env)
        metadata = served.client().get("/auth/corp/metadata")
        assert metadata.status_code == 200, metadata.get_data(as_text=True)
        idp.trust(metadata.get_data(as_text=True))
        idp.sp_cert = cert
        yield served
        served.close()

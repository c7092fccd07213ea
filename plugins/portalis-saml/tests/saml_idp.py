"""A real SAML identity provider on loopback for the plugin's tests.

pysaml2's `Server` with a freshly generated key and self-signed certificate, served by
Werkzeug on 127.0.0.1 and a free port. Its single sign-on endpoint (HTTP-Redirect binding)
signs in the configured `user` without a login form and answers with an auto-submitting HTML
form that POSTs a response with a signed assertion to the request's ACS URL.

Tests steer the next responses: `mutate` edits the assertion's XML before it is signed (wrong
audience, recipient, times, InResponseTo), `sign=False` leaves the assertion unsigned, and
`tamper` edits the final XML after signing.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.mdstore import MetadataStore
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.sigver import pre_signature_part, verify_redirect_signature
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
AUTHN_PASSWORD = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


def self_signed(common_name: str) -> tuple[str, str]:
    """A new RSA key and a self-signed certificate for it, both PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def pem_body(pem: str) -> str:
    """The base64 body of a PEM certificate (as metadata and KeyInfo carry it)."""
    return "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))


@dataclass
class TestUser:
    """Who the IdP signs in."""

    name_id: str = "u-1001"
    name_id_format: str = NAMEID_FORMAT_PERSISTENT
    attributes: dict[str, list[str]] = field(
        default_factory=lambda: {
            "mail": ["lena@acme.test"],
            "displayName": ["Lena Kraus"],
            "eduPersonAffiliation": ["member", "admins"],
            "o": ["Acme GmbH"],
        }
    )


@dataclass
class SeenRequest:
    """An AuthnRequest the IdP received."""

    id: str
    issuer: str
    acs_url: str
    signed: bool
    signature_valid: bool
    relay_state: str


class SamlIdP:
    """The identity provider (see the module docstring); `start()` serves it."""

    __test__ = False

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        cert, key = self_signed("portalis-test-idp")
        self.cert_pem = cert
        (folder / "idp.crt").write_text(cert)
        (folder / "idp.key").write_text(key)
        self.server_http: BaseWSGIServer = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.base_url = f"http://127.0.0.1:{self.server_http.server_port}"
        self.entity_id = f"{self.base_url}/idp"
        self.config = IdPConfig()
        self.config.load(
            {
                "entityid": self.entity_id,
                "xmlsec_binary": "/usr/bin/xmlsec1",
                "key_file": str(folder / "idp.key"),
                "cert_file": str(folder / "idp.crt"),
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [
                                (f"{self.base_url}/sso", BINDING_HTTP_REDIRECT)
                            ]
                        },
                        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                        "policy": {"default": {"lifetime": {"minutes": 5}}},
                    }
                },
            }
        )
        self.server = Server(config=self.config)
        # no SP is known until a test trusts one (`trust`)
        self.server.metadata = MetadataStore(self.config.attribute_converters, self.config)
        self.user = TestUser()
        #: the SP certificate (PEM) redirect signatures are checked with, when known
        self.sp_cert: str | None = None
        self.requests: list[SeenRequest] = []
        self.mutate: list[Callable[[str], str]] = []
        self.tamper: Callable[[str], str] | None = None
        self.sign = True
        self.last_response: str = ""
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> SamlIdP:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self.server_http.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server_http.shutdown()
        self.server_http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def metadata_xml(self) -> str:
        """The IdP's metadata (entity id, signing certificate, SSO endpoint)."""
        return str(entity_descriptor(self.config))

    def trust(self, sp_metadata: str) -> None:
        """Know a service provider (its metadata XML, e.g. from the portal's endpoint)."""
        self.server.metadata.load("inline", sp_metadata)

    def reset(self) -> None:
        """Back to honest, signed responses."""
        self.mutate = []
        self.tamper = None
        self.sign = True

    # -- the SSO endpoint -----------------------------------------------------------------
    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == "/metadata":
            answer = Response(self.metadata_xml(), 200, mimetype="application/samlmetadata+xml")
            return answer(environ, start_response)
        if request.path != "/sso":
            return Response("not found", 404)(environ, start_response)
        return self.sso(request)(environ, start_response)

    def sso(self, request: Request) -> Response:
        """Parse the AuthnRequest and answer with the auto-submitting response form."""
        saml_request = request.args.get("SAMLRequest", "")
        relay_state = request.args.get("RelayState", "")
        parsed = self.server.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT)
        message = parsed.message
        signed = "Signature" in request.args
        valid = False
        if signed and self.sp_cert:
            query = parse_qs(request.query_string.decode(), keep_blank_values=True)
            valid = bool(
                verify_redirect_signature(
                    {k: v[0] for k, v in query.items()},
                    self.server.sec.sec_backend,
                    cert=pem_body(self.sp_cert),
                )
            )
        acs_url = str(message.assertion_consumer_service_url)
        self.requests.append(
            SeenRequest(
                str(message.id), str(message.issuer.text), acs_url, signed, valid, relay_state
            )  # fmt: skip
        )
        xml = self.response_xml(str(message.id), acs_url, str(message.issuer.text))
        self.last_response = xml
        encoded = base64.b64encode(xml.encode()).decode()
        page = (
            '<!doctype html><html><body onload="document.forms[0].submit()">'
            f'<form method="post" action="{html.escape(acs_url)}">'
            f'<input type="hidden" name="SAMLResponse" value="{encoded}">'
            f'<input type="hidden" name="RelayState" value="{html.escape(relay_state)}">'
            '<noscript><button type="submit">Continue</button></noscript>'
            "</form></body></html>"
        )
        return Response(page, 200, mimetype="text/html")

    def response_xml(self, in_response_to: str, acs_url: str, sp_entity_id: str) -> str:
        """A response for the test user: built unsigned, mutated, then its assertion signed."""
        user = self.user
        unsigned = self.server.create_authn_response(
            identity=dict(user.attributes),
            in_response_to=in_response_to,
            destination=acs_url,
            sp_entity_id=sp_entity_id,
            name_id=NameID(format=user.name_id_format, text=user.name_id),
            authn={"class_ref": AUTHN_PASSWORD},
            sign_response=False,
            sign_assertion=False,
        )
        xml = str(unsigned)
        for change in self.mutate:
            xml = change(xml)
        if self.sign:
            xml = self.sign_assertion(xml)
        if self.tamper is not None:
            xml = self.tamper(xml)
        return xml

    def sign_assertion(self, xml: str) -> str:
        """Insert a signature template after the assertion's Issuer and sign it (xmlsec1)."""
        opening = re.search(r"<(\w+:)?Assertion\b[^>]*\bID=\"([^\"]+)\"", xml)
        assert opening is not None, xml
        prefix, assertion_id = opening.group(1) or "", opening.group(2)
        issuer_end = xml.index(f"</{prefix}Issuer>", opening.end()) + len(f"</{prefix}Issuer>")
        template = pre_signature_part(
            ident=assertion_id,
            public_key=pem_body(self.cert_pem),
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        xml = xml[:issuer_end] + str(template) + xml[issuer_end:]
        signed: str = self.server.sec.sign_statement(
            xml, node_name=f"{SAML}:Assertion", node_id=assertion_id
        )
        return signed


def form_fields(page: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the IdP's auto-submitting form."""
    action = re.search(r'<form method="post" action="([^"]+)"', page)
    assert action is not None, page
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page))
    return html.unescape(action.group(1)), {k: html.unescape(v) for k, v in fields.items()}


def set_attribute(name: str, value: str, element: str = "") -> Callable[[str], str]:
    """A mutation that sets every XML attribute `name` (of `element` tags only, when given)."""
    tag = rf"<(?:\w+:)?{element}\b[^>]*?" if element else r"<[^>]*?"

    def change(xml: str) -> str:
        pattern = re.compile(rf"({tag}\s{name}=\")[^\"]*(\")")
        changed, count = pattern.subn(lambda m: m.group(1) + value + m.group(2), xml)
        assert count, (name, element)
        return changed

    return change


def set_text(element: str, value: str) -> Callable[[str], str]:
    """A mutation that sets the text of every `element` tag."""

    def change(xml: str) -> str:
        pattern = re.compile(rf"(<(\w+:)?{element}\b[^>]*>)[^<]*(</(\w+:)?{element}>)")
        changed, count = pattern.subn(lambda m: m.group(1) + value + m.group(3), xml)
        assert count, element
        return changed

    return change

"""A small OpenID provider on loopback whose tokens the tests control.

It speaks the real protocol over real HTTP — discovery, JWKS, an authorization endpoint that
signs the configured user in at once, a token endpoint that checks client_secret_basic, the
redirect URI and the PKCE S256 verifier, and userinfo — and can hand out broken ID tokens
(wrong key, `alg: none`, HS256 keyed with its public key, wrong claims) for the security
tests. Signing uses authlib; the attacks are built by hand, as an attacker would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

from portalis_oidc.jose import JsonWebKey, JsonWebToken
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

Signing = Literal["good", "other_key", "none", "hs256_public"]


def b64url(data: bytes) -> str:
    """Base64url without padding (JWS compact serialisation)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class LoopbackIdP:
    """The provider's state; `serve()` runs it on 127.0.0.1 (module docstring)."""

    client_id: str
    client_secret: str
    #: sub → claims of the users the provider knows
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the user the authorization endpoint signs in
    current: str = ""
    #: how the next ID tokens are signed, and claims that override the normal ones
    signing: Signing = "good"
    overrides: dict[str, Any] = field(default_factory=dict)
    #: discovery's issuer (None: the real one)
    claimed_issuer: str | None = None
    userinfo: bool = True
    #: claims only the userinfo endpoint answers (may even override `sub`)
    userinfo_claims: dict[str, Any] = field(default_factory=dict)
    #: every token request's form (to check what the client sent)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    port: int = 0
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    access_tokens: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.key = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "k1"})
        self.other = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "k1"})

    @property
    def issuer(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://127.0.0.1:{self.port}"

    # -- protocol ---------------------------------------------------------------------------
    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        routes = {
            "/.well-known/openid-configuration": self.discovery,
            "/jwks": self.jwks,
            "/authorize": self.authorize,
            "/token": self.token,
            "/userinfo": self.userinfo_endpoint,
        }
        handler = routes.get(request.path)
        response = handler(request) if handler else Response("not found", 404)
        return response(environ, start_response)

    def discovery(self, request: Request) -> Response:
        doc = {
            "issuer": self.claimed_issuer or self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
        }
        if self.userinfo:
            doc["userinfo_endpoint"] = f"{self.issuer}/userinfo"
        return _json(doc)

    def jwks(self, request: Request) -> Response:
        public = self.key.as_dict(is_private=False)
        return _json({"keys": [{**public, "use": "sig", "alg": "RS256"}]})

    def authorize(self, request: Request) -> Response:
        args = request.args
        if args.get("response_type") != "code" or args.get("client_id") != self.client_id:
            return Response("bad request", 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "sub": self.current,
            "nonce": args.get("nonce", ""),
            "redirect_uri": args.get("redirect_uri", ""),
            "challenge": args.get("code_challenge", ""),
            "method": args.get("code_challenge_method", ""),
        }
        query = urlencode({"code": code, "state": args.get("state", "")})
        return Response("", 302, {"Location": f"{args['redirect_uri']}?{query}"})

    def token(self, request: Request) -> Response:
        form = {k: v for k, v in request.form.items()}
        self.token_requests.append(form)
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return _json({"error": "invalid_client"}, 401)
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return _json({"error": "invalid_grant"}, 400)
        verifier = form.get("code_verifier", "")
        digest = b64url(hashlib.sha256(verifier.encode("ascii")).digest())
        if grant["method"] != "S256" or not hmac.compare_digest(digest, grant["challenge"]):
            return _json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": grant["sub"],
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            **self.users.get(grant["sub"], {}),
            **self.overrides,
        }
        access = f"at-{grant['sub']}-{secrets.token_urlsafe(8)}"
        self.access_tokens[access] = grant["sub"]
        return _json(
            {"access_token": access, "token_type": "Bearer", "id_token": self.sign(claims)}
        )

    def userinfo_endpoint(self, request: Request) -> Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        sub = self.access_tokens.get(token)
        if sub is None:
            return _json({"error": "invalid_token"}, 401)
        return _json({"sub": sub, **self.users.get(sub, {}), **self.userinfo_claims})

    def sign(self, claims: dict[str, Any]) -> str:
        """An ID token for `claims`, signed the way `signing` says."""
        payload = b64url(json.dumps(claims).encode())
        if self.signing == "none":
            return f"{b64url(json.dumps({'alg': 'none'}).encode())}.{payload}."
        if self.signing == "hs256_public":
            # the classic key-confusion attack: HMAC keyed with the RSA public key (PEM)
            header = b64url(json.dumps({"alg": "HS256", "kid": "k1"}).encode())
            secret = self.key.as_pem(is_private=False)
            mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
            return f"{header}.{payload}.{b64url(mac)}"
        key = self.other if self.signing == "other_key" else self.key
        token = JsonWebToken(["RS256"]).encode({"alg": "RS256", "kid": "k1"}, claims, key)
        return token.decode("ascii")

    # -- client side helpers ----------------------------------------------------------------
    def follow_authorize(self, url: str) -> str:
        """GET the authorization URL over HTTP like a browser; the redirect's Location."""
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1" and parts.port == self.port
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", f"{parts.path}?{parts.query}")
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 302, answer.status
            return str(answer.getheader("Location"))
        finally:
            connection.close()


class QuietHandler(WSGIRequestHandler):
    """No access log lines in the test output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


def _json(data: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(data), status, mimetype="application/json")


@contextmanager
def serve_idp(client_id: str, client_secret: str) -> Iterator[LoopbackIdP]:
    """Run a `LoopbackIdP` on 127.0.0.1 and a free port for the duration of the block."""
    idp = LoopbackIdP(client_id, client_secret)
    server: BaseWSGIServer = make_server(
        "127.0.0.1", 0, idp.wsgi, threaded=True, request_handler=QuietHandler
    )
    idp.port = server.server_port
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="test-idp", daemon=True
    )
    thread.start()
    try:
        yield idp
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def query(url: str) -> dict[str, str]:
    """The query parameters of `url` (first value each)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}

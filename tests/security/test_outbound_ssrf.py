"""SSRF for outbound webhooks: SECURITY A.34 (ASVS 1.3.6).

- https only; plain http only to allow-listed hosts and networks;
- the host is resolved once; any private, loopback, link-local, multicast, reserved or
  unspecified address — also inside IPv4-mapped, NAT64, 6to4 and Teredo forms — is refused
  unless allow-listed (`PORTALIS_OUTBOUND_ALLOW`), and so are IP literals; numeric hosts in
  non-standard forms (`2130706433`, `0177.0.0.1`, `127.1`) are refused outright;
- the delivery connects to the checked address with the host name in `Host`, SNI and the
  certificate check: a second DNS answer (rebinding) never counts;
- a refused URL makes the job dead at once; enqueueing resolves nothing.

Name resolution is injected: no test asks real DNS, and every connection goes to 127.0.0.1
(`socket.create_connection` is guarded to make sure of it).
"""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.engine.data.db import begin_write
from portalis.engine.outbox import job_admin, jobs
from portalis.engine.outbox.jobs import Job, PermanentFailure, RetryLater
from portalis.engine.outbox.outbound import OutboundPolicy, OutboundRefused, why_not_public
from portalis.engine.outbox.webhooks import enqueue_webhook, handle_webhook
from portalis.runtime.job_handlers import build_handlers
from portalis.runtime.settings import Settings
from portalis.testing.jobs import run_jobs
from portalis.testing.webhooks import LOOPBACK_POLICY, WebhookReceiver

PUBLIC = "93.184.215.14"  # never contacted: tests only check, or connect to 127.0.0.1


@dataclass
class FakeDNS:
    """A resolver with scripted answers per host: one list per call (the last one repeats)."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def __call__(self, host: str, port: int) -> Sequence[tuple[Any, ...]]:
        self.calls.append(host)
        script = self.answers.get(host)
        if not script:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        addresses = script.pop(0) if len(script) > 1 else script[0]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]


def dns(**answers: str | list[str]) -> FakeDNS:
    """`dns(hooks_example_com="1.2.3.4")`: underscores in names stand for dots."""
    return FakeDNS(
        {k.replace("_", "."): [[v] if isinstance(v, str) else v] for k, v in answers.items()}
    )


def strict(resolver: FakeDNS) -> OutboundPolicy:
    return OutboundPolicy(resolver=resolver)


@pytest.fixture(autouse=True)
def no_real_dns_or_foreign_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Belt and braces: the code under test may neither ask the system resolver about the
    test's host names nor connect anywhere but 127.0.0.1."""
    real_resolve, real_connect = socket.getaddrinfo, socket.create_connection

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".example"):
            raise AssertionError(f"real DNS look-up of {host}")
        return real_resolve(host, *args, **kwargs)

    def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        if address[0] not in ("127.0.0.1", "localhost"):
            raise AssertionError(f"connection to {address[0]} attempted")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket, "create_connection", connect)


def a_job(url: str, job_id: int = 7) -> Job:
    now = datetime.now(UTC)
    payload = {"url": url, "event": "ticket.created", "body": {"id": 1}}
    return Job(job_id, "acme-support", "webhook", payload, jobs.RUNNING, now, 1, 8, None, None,
               now, None)  # fmt: skip


# -- the check --------------------------------------------------------------------------------
def test_a34_plain_http_is_refused_without_resolving() -> None:
    resolver = dns(hooks_example=PUBLIC)
    with pytest.raises(OutboundRefused, match="not https"):
        strict(resolver).check("http://hooks.example/portalis")
    assert resolver.calls == []  # refused before any look-up
    # an allow-list of networks does not make http fine for hosts outside it
    allowing = OutboundPolicy.parse("10.20.0.0/16", resolver=resolver)
    with pytest.raises(OutboundRefused, match="not https"):
        allowing.check("http://hooks.example/portalis")
    target = strict(dns(hooks_example=PUBLIC)).check("https://hooks.example/portalis")
    assert target.scheme == "https" and str(target.address) == PUBLIC


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.10", "private"),
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "not a public"),  # carrier-grade NAT
        ("224.0.0.251", "multicast"),
        ("255.255.255.255", "private"),
        ("240.0.0.1", "private"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fe80::1", "link-local"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "IPv4-mapped form of 127.0.0.1, which is a loopback"),
        ("::ffff:169.254.169.254", "IPv4-mapped form of 169.254.169.254"),
        ("64:ff9b::a9fe:a9fe", "NAT64 form of 169.254.169.254"),
        ("2002:7f00:1::", "6to4 form of 127.0.0.1"),
        ("2002:a00:1::", "6to4 form of 10.0.0.1"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo form of 10.0.0.1"),
        ("::7f00:1", "reserved"),  # IPv4-compatible (deprecated)
    ],
)
def test_a34_hosts_resolving_to_internal_addresses_are_refused(address: str, why: str) -> None:
    resolver = dns(hooks_example=address)
    with pytest.raises(OutboundRefused, match=why) as refused:
        strict(resolver).check("https://hooks.example/portalis?token=secret")
    message = str(refused.value)
    assert "hooks.example resolves to" in message and "token" not in message
    assert resolver.calls == ["hooks.example"]
    assert why_not_public(ip_address(address)) is not None


@pytest.mark.parametrize("address", [PUBLIC, "2606:4700::6810:85e5", f"::ffff:{PUBLIC}",
                                     f"64:ff9b::{PUBLIC}"])  # fmt: skip
def test_a34_public_addresses_are_accepted(address: str) -> None:
    target = strict(dns(hooks_example=address)).check("https://hooks.example:8443/p/ü?q=1")
    assert target.address == ip_address(address.removeprefix("::ffff:"))
    assert target.addresses == (target.address,)
    assert (target.host, target.port, target.path) == ("hooks.example", 8443, "/p/%C3%BC?q=1")


def test_a34_one_public_and_one_private_address_is_refused() -> None:
    for answer in ([PUBLIC, "10.0.0.8"], ["10.0.0.8", PUBLIC], [PUBLIC, "::1"]):
        resolver = dns(hooks_example=answer)
        with pytest.raises(OutboundRefused):
            strict(resolver).check("https://hooks.example/x")
        assert resolver.calls == ["hooks.example"]
    both = strict(dns(hooks_example=[PUBLIC, "2606:4700::6810:85e5"])).check(
        "https://hooks.example"
    )
    assert [str(a) for a in both.addresses] == [PUBLIC, "2606:4700::6810:85e5"]


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("https://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("https://10.0.0.1:8443/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://127.0.0.1./", "loopback"),
        ("https://[::1]/", "loopback"),
        ("https://[::ffff:127.0.0.1]/", "IPv4-mapped form of 127.0.0.1"),
        ("https://[::ffff:7f00:1]/", "IPv4-mapped form of 127.0.0.1"),
        ("https://[fe80::1%25eth0]/", "zone"),
        # numeric hosts C resolvers read as IPv4 and `ipaddress` does not: refused outright
        ("https://2130706433/", "not a standard IPv4 address"),
        ("https://0x7f000001/", "not a standard IPv4 address"),
        ("https://0177.0.0.1/", "not a standard IPv4 address"),
        ("https://0x7f.0.0.1/", "not a standard IPv4 address"),
        ("https://127.1/", "not a standard IPv4 address"),
        ("https://10.1/", "not a standard IPv4 address"),
        ("https://017700000001/", "not a standard IPv4 address"),
        ("https://hooks.0x7f/", "not a standard IPv4 address"),
        ("https://999.1.1.1/", "not a standard IPv4 address"),
        # not a host name at all
        ("https://hooks_example%2e127.0.0.1/", "not a standard IPv4 address"),
        ("https://hooks..example/", "not a valid host name"),
        ("https://-hooks.example/", "not a valid host name"),
        ("https://user:pw@hooks.example/", "credentials"),
        ("https://hooks.example:0/", "port 0"),
        ("https://hooks.example/a b", "spaces or control characters"),
        ("https://hooks.example/a\r\nX-Injected: 1", "spaces or control characters"),
        ("https://[::1/", "malformed"),
        ("ftp://hooks.example/", "http"),
        ("https:///nohost", "http"),
    ],
)
def test_a34_ip_literals_and_odd_hosts_are_checked_without_dns(url: str, match: str) -> None:
    resolver = dns(hooks_example=PUBLIC)
    with pytest.raises(OutboundRefused, match=match):
        strict(resolver).check(url)
    assert resolver.calls == []


def test_a34_public_ip_literals_are_accepted_without_dns() -> None:
    resolver = dns()
    target = strict(resolver).check(f"https://{PUBLIC}/hook")
    assert str(target.address) == PUBLIC and target.host == PUBLIC
    target = strict(resolver).check("https://[2606:4700::6810:85e5]:8443/hook")
    assert str(target.address) == "2606:4700::6810:85e5" and target.port == 8443
    assert resolver.calls == []


def test_a34_allow_listed_networks_and_hosts_are_accepted() -> None:
    resolver = dns(
        hooks_internal_example="10.9.9.9",
        erp_internal_example=["10.20.3.4", "fd00::7"],
        other_internal_example="10.21.0.1",
        mapped_internal_example="::ffff:10.20.0.5",
        public_example=PUBLIC,
        evil_hooks_internal_example=PUBLIC,
    )
    policy = OutboundPolicy.parse(
        "hooks.internal.example, 10.20.0.0/16 fd00::/8\n127.0.0.1", resolver=resolver
    )
    assert policy.allow_hosts == frozenset({"hooks.internal.example"})
    assert [str(n) for n in policy.allow] == ["10.20.0.0/16", "fd00::/8", "127.0.0.1/32"]
    # a listed host name may resolve to anything, and may use http
    assert str(policy.check("http://hooks.internal.example/x").address) == "10.9.9.9"
    assert policy.check("https://HOOKS.internal.example./x").host == "hooks.internal.example"
    # addresses inside listed networks, also over http when all of them are listed
    erp = policy.check("http://erp.internal.example:8080/in")
    assert [str(a) for a in erp.addresses] == ["10.20.3.4", "fd00::7"]
    # an IPv4-mapped answer is checked and pinned as the IPv4 address it is
    assert policy.check("https://mapped.internal.example/").address == ip_address("10.20.0.5")
    assert str(policy.check("http://127.0.0.1:9/").address) == "127.0.0.1"
    with pytest.raises(OutboundRefused, match="10.21.0.1, which is a private address"):
        policy.check("https://other.internal.example/")
    with pytest.raises(OutboundRefused, match="loopback"):
        policy.check("https://127.0.0.2/")
    with pytest.raises(OutboundRefused, match="not https"):
        policy.check("http://public.example/")  # public, but not listed: https only
    assert str(policy.check("https://public.example/").address) == PUBLIC
    # exact names: a sub-domain or a look-alike is not listed
    with pytest.raises(OutboundRefused, match="not https"):
        policy.check("http://evil.hooks.internal.example/")


@pytest.mark.parametrize(
    "entry", ["10.20.0.1/16", "*.internal.example", "127.1", "300.0.0.0/8", "https://x.example",
              "hooks..example", "fe80::1%eth0", "10.0.0.0/33"],
)  # fmt: skip
def test_a34_bad_allow_list_entries_are_named(entry: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape(f"entry '{entry}'")):
        OutboundPolicy.parse(f"hooks.internal.example, {entry}")
    with pytest.raises(ValueError, match="PORTALIS_OUTBOUND_ALLOW"):
        Settings.from_env({"PORTALIS_SECRET_KEY": "k", "PORTALIS_INSTANCE_PATH": str(tmp_path),
                           "PORTALIS_OUTBOUND_ALLOW": entry})  # fmt: skip


def test_a34_allow_list_setting(tmp_path: Path) -> None:
    base = {"PORTALIS_SECRET_KEY": "k", "PORTALIS_INSTANCE_PATH": str(tmp_path)}
    assert Settings.from_env(base).outbound_allow is None
    assert OutboundPolicy.parse(None) == OutboundPolicy() == OutboundPolicy.parse(" ,  ")
    value = "hooks.internal.example, 10.20.0.0/16"
    settings = Settings.from_env({**base, "PORTALIS_OUTBOUND_ALLOW": f"  {value} "})
    assert settings.outbound_allow == value
    with pytest.raises(ValueError, match="host bits set .did you mean 10.20.0.0/16"):
        OutboundPolicy.parse("10.20.0.1/16")


# -- delivery -------------------------------------------------------------------------------
@pytest.fixture
def hooks(webhook_hooks: WebhookReceiver) -> WebhookReceiver:
    return webhook_hooks


def test_a34_refused_urls_are_permanent_failures(hooks: WebhookReceiver) -> None:
    for url in (hooks.url("/hook"), hooks.url("/hook").replace("http:", "https:"),
                "https://[::1]/hook", "https://2130706433/hook"):  # fmt: skip
        with pytest.raises(PermanentFailure, match="refused"):
            handle_webhook(a_job(url))  # the strict default policy
    assert hooks.requests == []
    # a failing look-up may heal: retried, not dead
    with pytest.raises(RetryLater, match="cannot resolve"):
        handle_webhook(a_job("https://gone.example/x"), policy=strict(dns()))


def test_a34_rebinding_cannot_redirect_a_delivery(hooks: WebhookReceiver) -> None:
    """The first answer is checked and used; a later, different answer is never asked for."""
    port = hooks.url().rsplit(":", 1)[1].split("/")[0]
    resolver = FakeDNS({"hooks.rebind.example": [["127.0.0.1"], ["10.66.0.1"]]})
    policy = OutboundPolicy.parse("127.0.0.1", resolver=resolver)
    handle_webhook(a_job(f"http://hooks.rebind.example:{port}/hook?x=1"), policy=policy)
    (request,) = hooks.requests
    assert request.path == "/hook" and request.query == "x=1"
    assert request.header("Host") == f"hooks.rebind.example:{port}"
    assert request.header("Idempotency-Key") == "job-7"
    assert resolver.calls == ["hooks.rebind.example"]  # resolved once
    # the next delivery resolves again, gets the private answer and is refused before connecting
    with pytest.raises(PermanentFailure, match="10.66.0.1, which is a private address"):
        handle_webhook(a_job(f"http://hooks.rebind.example:{port}/hook"), policy=policy)
    assert len(hooks.requests) == 1


# -- https to the pinned address: SNI and certificate for the host name ------------------------
@dataclass
class TlsServer:
    port: int
    cafile: Path
    sni: list[str | None]
    hosts: list[str]


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[TlsServer]:
    """An https receiver on 127.0.0.1 whose self-signed certificate names
    `hooks.internal.example`; records the SNI and `Host` of each request."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=hooks.internal.example", "-keyout", str(key), "-out", str(cert),
         "-addext", "subjectAltName=DNS:hooks.internal.example"],
        capture_output=True, check=False,
    )  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"openssl cannot make a certificate: {made.stderr[-200:]!r}")
    sni: list[str | None] = []
    hosts: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def record_sni(sock: ssl.SSLSocket, name: str | None, ctx: ssl.SSLContext) -> None:
        sni.append(name)

    context.sni_callback = record_sni

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hosts.append(self.headers.get("Host") or "")
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # clients that reject the certificate hang up mid-handshake

    server = Server(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield TlsServer(server.server_address[1], cert, sni, hosts)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_a34_https_goes_to_the_pinned_address_with_sni_and_certificate_check(
    tls_server: TlsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolver = dns(hooks_internal_example="127.0.0.1", wrong_internal_example="127.0.0.1")
    policy = OutboundPolicy.parse("127.0.0.1", resolver=resolver)
    url = f"https://hooks.internal.example:{tls_server.port}/hook"

    # not trusted by the system's certificate store: the certificate is checked
    with pytest.raises(RetryLater, match="CERTIFICATE_VERIFY_FAILED"):
        handle_webhook(a_job(url), policy=policy)

    # trusted: delivered, SNI and Host name the host, the connection went to 127.0.0.1
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.cafile))
    handle_webhook(a_job(url), policy=policy)
    assert tls_server.hosts == [f"hooks.internal.example:{tls_server.port}"]
    assert tls_server.sni[-1] == "hooks.internal.example"

    # the same certificate for another name on the same address: refused by the name check
    wrong = f"https://wrong.internal.example:{tls_server.port}/hook"
    with pytest.raises(RetryLater, match="CERTIFICATE_VERIFY_FAILED|match"):
        handle_webhook(a_job(wrong), policy=policy)
    assert tls_server.sni[-1] == "wrong.internal.example" and len(tls_server.hosts) == 1
    assert resolver.calls.count("hooks.internal.example") == 2  # one look-up per delivery


# -- the outbox -------------------------------------------------------------------------------
@pytest.fixture
def engine(platform_engine: sa.Engine) -> sa.Engine:
    return platform_engine


def test_a34_enqueueing_checks_the_form_and_resolves_nothing(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[str] = []
    guarded: Callable[..., Any] = socket.getaddrinfo

    def spy(host: Any, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(str(host))
        return guarded(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", spy)
    with begin_write(engine) as conn:
        for url in ("https://hooks.example/x", "http://10.0.0.1/x", "https://127.0.0.1/x"):
            # the policy is the worker's: the outbox takes the URL, the delivery judges it
            assert enqueue_webhook(conn, portal=None, url=url, event="e", body={}) is not None
    assert not {"hooks.example", "10.0.0.1"} & set(looked_up)
    for bad in ("ftp://hooks.example/x", "https:///x", "https://hooks.example:http/"):
        with pytest.raises(ValueError), begin_write(engine) as conn:
            enqueue_webhook(conn, portal=None, url=bad, event="e", body={})


def test_a34_the_worker_applies_the_configured_allow_list(
    engine: sa.Engine, hooks: WebhookReceiver, tmp_path: Path
) -> None:
    def settings(allow: str | None) -> Settings:
        env = {"PORTALIS_SECRET_KEY": "k", "PORTALIS_INSTANCE_PATH": str(tmp_path)}
        return Settings.from_env({**env, **({"PORTALIS_OUTBOUND_ALLOW": allow} if allow else {})})

    with begin_write(engine) as conn:
        refused = enqueue_webhook(conn, portal=None, url=hooks.url("/a"), event="e", body={})
    assert run_jobs(engine, settings=settings(None)) == 1
    dead = job_admin.get_job(engine, refused or 0)
    assert dead is not None and dead.status == jobs.DEAD and dead.attempts == 1
    assert "refused" in (dead.last_error or "") and "loopback" in (dead.last_error or "")
    assert hooks.requests == []

    with begin_write(engine) as conn:
        allowed = enqueue_webhook(conn, portal=None, url=hooks.url("/b"), event="e", body={})
    assert run_jobs(engine, settings=settings("127.0.0.1")) == 1
    done = job_admin.get_job(engine, allowed or 0)
    assert done is not None and done.status == jobs.DONE
    assert [r.path for r in hooks.requests] == ["/b"]
    # the handler registered by the runtime is the policy-bound one
    handler = build_handlers(settings("10.20.0.0/16"))["webhook"]
    with pytest.raises(PermanentFailure, match="loopback"):
        handler(a_job(hooks.url("/c")))
    handler = build_handlers(settings(None), {"webhook": lambda job: None})["webhook"]
    assert handler(a_job(hooks.url("/d"))) is None  # `extra` still replaces it
    assert replace(LOOPBACK_POLICY, resolver=dns()).check(hooks.url()).host == "127.0.0.1"

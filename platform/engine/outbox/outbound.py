"""Outbound requests without SSRF (SECURITY A.34): which URLs the platform may call, and a
connection that goes exactly where the check said.

`OutboundPolicy.check(url)` turns a URL into a `Target` or raises `OutboundRefused`:

- the scheme is `https`; plain `http` only for allow-listed hosts (a host name on
  `allow_hosts`, or every address it resolves to inside `allow`);
- no credentials in the URL, no control characters or spaces, a valid port;
- the host is a DNS name or a standard IP literal (`203.0.113.7`, `[2001:db8::1]`). Hosts
  that only look numeric — `2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1` — are refused: C
  resolvers read them as 127.0.0.1, `ipaddress` does not, and guessing would be a bypass;
- the host is resolved **once**; every address must be public: private, loopback,
  link-local, multicast, reserved, unspecified, site-local and shared (100.64/10) addresses
  are refused — also inside IPv4-mapped (`::ffff:127.0.0.1`), NAT64, 6to4 and Teredo
  addresses — unless the address is inside `allow` or the host name is on `allow_hosts`;
- the `Target` keeps the checked addresses: `Target.connection()` connects to them (no second
  DNS look-up, so a DNS answer that changes between check and connect — DNS rebinding —
  cannot redirect the request) while the `Host` header, TLS SNI and certificate check use the
  host name.

A failing DNS look-up is an `OSError` (worth retrying), not a refusal. Environment proxies
(`HTTPS_PROXY`) are not used: a proxy would resolve the name again.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: `socket.getaddrinfo`'s shape: `(host, port)` → `[(family, type, proto, canonname, sockaddr)]`.
Resolver = Callable[[str, int], Sequence[tuple[Any, ...]]]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMBER = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")
_PLAIN_HTTP = "{scheme}://{host} is not https (plain http only to allow-listed hosts)"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# printable ASCII goes out as written; only non-ASCII characters are %-encoded (UTF-8)
_URL_SAFE = string.punctuation


def system_resolver(host: str, port: int) -> Sequence[tuple[Any, ...]]:
    """The default resolver: `socket.getaddrinfo` for TCP (looked up at each call)."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


class OutboundRefused(ValueError):
    """The URL may not be called (the message says why; it never quotes the query string)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: where to connect (`addresses`, in order) and what to ask for."""

    scheme: str
    #: the host name as sent in `Host` and SNI (lower case, IDNA-encoded, no trailing dot)
    host: str
    port: int
    #: path and query, never empty
    path: str
    #: the checked addresses of `host`; connections go to these and nowhere else
    addresses: tuple[IPAddress, ...]

    @property
    def address(self) -> IPAddress:
        """The pinned address a connection tries first."""
        return self.addresses[0]

    def connection(
        self, *, timeout: float, context: ssl.SSLContext | None = None
    ) -> http.client.HTTPConnection:
        """An unopened connection to the pinned addresses (`timeout` for connecting and for
        each read); for https with certificate and host name checks (`context` defaults to
        `ssl.create_default_context()`)."""
        if self.scheme == "https":
            return PinnedHTTPSConnection(self, timeout=timeout, context=context)
        return PinnedHTTPConnection(self, timeout=timeout)


def _open_socket(target: Target, timeout: float | None) -> socket.socket:
    """Connect to the first of `target.addresses` that answers (like `create_connection`,
    without resolving anything)."""
    error: OSError | None = None
    for address in target.addresses:
        try:
            sock = socket.create_connection((str(address), target.port), timeout)
        except OSError as exc:
            error = exc
            continue
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # pragma: no cover - platforms without TCP_NODELAY
            pass
        return sock
    assert error is not None  # a Target has at least one address
    raise error


class PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a `Target`'s checked addresses; `Host` is the target's host name."""

    def __init__(self, target: Target, *, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.target = target

    def connect(self) -> None:
        self.sock = _open_socket(self.target, self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a `Target`'s checked addresses; `Host`, SNI and the certificate's name are the
    target's host name."""

    def __init__(
        self, target: Target, *, timeout: float, context: ssl.SSLContext | None = None
    ) -> None:
        tls = context or ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=tls)
        self.target = target
        self.tls = tls

    def connect(self) -> None:
        sock = _open_socket(self.target, self.timeout)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.target.host)
        except BaseException:
            sock.close()
            raise


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """Which outbound URLs are allowed (module docstring). `OutboundPolicy()` is the strict
    default: https to public addresses only."""

    #: networks allowed although not public (and reachable over plain http)
    allow: tuple[IPNetwork, ...] = ()
    #: exact host names allowed whatever they resolve to (and over plain http)
    allow_hosts: frozenset[str] = frozenset()
    #: `(host, port)` → getaddrinfo-style answers; injectable for tests
    resolver: Resolver = field(default=system_resolver, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str | None, *, resolver: Resolver = system_resolver) -> OutboundPolicy:
        """A policy from a comma or space separated list of networks (`10.20.0.0/16`),
        addresses (`10.0.0.7`, `fd00::1`) and exact host names (`hooks.internal.example`).
        ValueError names a bad entry."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in re.split(r"[,\s]+", (text or "").strip()):
            if not entry:
                continue
            if "/" in entry or ":" in entry or _looks_numeric(entry):
                networks.append(_parse_network(entry))
                continue
            try:
                hosts.add(_host_name(entry))
            except OutboundRefused:
                raise ValueError(
                    f"outbound allow-list entry {entry!r} is not an IP address, a network "
                    "(10.20.0.0/16) or a host name (hooks.internal.example)"
                ) from None
        return cls(tuple(networks), frozenset(hosts), resolver)

    def allows(self, address: IPAddress) -> bool:
        """True when `address` (or the IPv4 address it maps) is inside `allow`."""
        candidates = [address]
        embedded = _embedded_ipv4(address)
        if embedded is not None and embedded[0] in ("IPv4-mapped", "NAT64"):
            candidates.append(embedded[1])
        return any(a in network for a in candidates for network in self.allow)

    def check(self, url: str) -> Target:
        """The `Target` to connect to for `url`, or `OutboundRefused` (module docstring).
        Resolves the host at most once; a failed look-up raises `OSError`."""
        scheme, host, port, path = _split(url)
        named = host in self.allow_hosts
        literal = _ip_literal(host)
        if scheme != "https" and not named and not self.allow and literal is None:
            # cannot be allowed: refused before any look-up
            raise OutboundRefused(_PLAIN_HTTP.format(scheme=scheme, host=host))
        addresses = (literal,) if literal is not None else self._resolve(host, port)
        if not named:
            for address in addresses:
                if self.allows(address):
                    continue
                why = why_not_public(address)
                if why is not None:
                    subject = (
                        host if literal is not None else f"{host} resolves to {address}, which"
                    )
                    raise OutboundRefused(f"{subject} {why} (not on the outbound allow-list)")
            if scheme != "https" and not all(self.allows(a) for a in addresses):
                raise OutboundRefused(_PLAIN_HTTP.format(scheme=scheme, host=host))
        # an IPv4-mapped address is the IPv4 host: connect over IPv4 (works without IPv6)
        pinned = dict.fromkeys(_unmapped(a) for a in addresses)
        return Target(scheme, host, port, path, tuple(pinned))

    def _resolve(self, host: str, port: int) -> tuple[IPAddress, ...]:
        found: list[IPAddress] = []
        for info in self.resolver(host, port):
            sockaddr = info[4]
            if not isinstance(sockaddr, tuple) or not isinstance(sockaddr[0], str):
                continue  # not an IP address family
            try:
                address = ipaddress.ip_address(sockaddr[0].partition("%")[0])
            except ValueError:
                continue
            if address not in found:
                found.append(address)
        if not found:
            raise OSError(f"{host} has no IP address")
        return tuple(found)


def why_not_public(address: IPAddress) -> str | None:
    """Why `address` is no public unicast address ("is a loopback address", …), or None."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        form, ipv4 = embedded
        why = why_not_public(ipv4)
        if why is not None:
            return f"is the {form} form of {ipv4}, which {why}"
        if form in ("IPv4-mapped", "NAT64"):
            return None  # the public IPv4 host itself
    checks = (
        ("an unspecified", address.is_unspecified),
        ("a loopback", address.is_loopback),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a private", address.is_private),
        ("a site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        ("a reserved", address.is_reserved),
    )
    for name, hit in checks:
        if hit:
            return f"is {name} address"
    if not address.is_global:  # e.g. 100.64.0.0/10, shared by carrier-grade NAT
        return "is not a public address"
    return None


def _unmapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _embedded_ipv4(address: IPAddress) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address inside an IPv4-mapped, NAT64, 6to4 or Teredo address."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", address.ipv4_mapped
    if address in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    if address.teredo is not None:
        return "Teredo", address.teredo[1]
    return None


def _split(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an absolute http(s) URL, or OutboundRefused."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise OutboundRefused("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        raw_host = parts.hostname
        port = parts.port
    except ValueError:
        raise OutboundRefused(f"the URL is malformed: {url[:100]!r}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not raw_host:
        raise OutboundRefused(f"the URL is not an http(s) URL with a host: {url[:100]!r}")
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused(f"credentials in the URL are not supported ({raw_host})")
    if port == 0:
        raise OutboundRefused(f"{raw_host} has port 0")
    host = _host(raw_host)
    path = quote(parts.path or "/", safe=_URL_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_URL_SAFE)
    return scheme, host, port or _DEFAULT_PORTS[scheme], path


def _host(raw: str) -> str:
    """A URL's host name normalised: an IP literal as `ipaddress` writes it, else an IDNA
    host name; numeric-looking names that are no standard IP literal are refused."""
    if ":" in raw:
        if "%" in raw:
            raise OutboundRefused(f"IPv6 zone identifiers are not allowed ({raw})")
        try:
            ipaddress.IPv6Address(raw)
            return raw  # as written (`::ffff:127.0.0.1` stays readable in messages)
        except ValueError:
            raise OutboundRefused(f"{raw!r} is not a valid IPv6 address") from None
    if _looks_numeric(raw):
        try:
            return str(ipaddress.IPv4Address(raw.rstrip(".")))
        except ValueError:
            raise OutboundRefused(
                f"{raw!r} is not a standard IPv4 address (write it as four decimal numbers)"
            ) from None
    return _host_name(raw)


def _host_name(raw: str) -> str:
    try:
        name = raw.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        raise OutboundRefused(f"{raw!r} is not a valid host name") from None
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise OutboundRefused(f"{raw!r} is not a valid host name")
    if _looks_numeric(name):
        raise OutboundRefused(f"{raw!r} is not a valid host name")
    return name


def _looks_numeric(host: str) -> bool:
    """True when the last label is a number (`1`, `0x7f`): URL parsers read such hosts as
    IPv4 addresses (WHATWG URL "ends in a number")."""
    last = host.lower().rstrip(".").rpartition(".")[2]
    return bool(_NUMBER.match(last))


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _parse_network(entry: str) -> IPNetwork:
    if "%" in entry:
        raise ValueError(f"outbound allow-list entry {entry!r} has a zone identifier")
    try:
        return ipaddress.ip_network(entry)
    except ValueError as exc:
        if "has host bits set" in str(exc):
            loose = ipaddress.ip_network(entry, strict=False)
            raise ValueError(
                f"outbound allow-list entry {entry!r} has host bits set (did you mean {loose}?)"
            ) from None
        raise ValueError(
            f"outbound allow-list entry {entry!r} is not a valid IP address or network"
        ) from None

"""portalis-ip-allowlist: enforce a portal's `auth.ip_allowlist` as a request guard.

`portal:` networks apply to every request of the portal, anonymous ones included (the login
page too). `builder:` networks apply to the admin area and the builder (paths `/admin…` and
`/_builder…`), for everyone: an administrator outside them cannot reach those pages even
with the right role. `roles: {role: [...]}` networks apply to signed-in users holding that role
(effective roles, so inherited roles count); a user holding several listed roles must come
from a network of each. An empty or missing list restricts nothing. IPv4-mapped IPv6
addresses (`::ffff:10.1.2.3`) are compared as the IPv4 address they carry. The client address
is the runtime's: `X-Forwarded-For` counts only from `PORTALIS_TRUSTED_PROXIES`.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from portalis.api import GuardRequest, PortalModel, RequestGuard, hookimpl

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: the first path segments the `builder` list protects
BUILDER_SEGMENTS = ("admin", "_builder")
#: how many compiled portal versions keep their parsed networks (oldest dropped first)
CACHE_SIZE = 256


def parse_ip(text: str) -> IPAddress | None:
    """The address in `text` (IPv4-mapped IPv6 as IPv4), or None when it is not one."""
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_builder_path(path: str) -> bool:
    """True for `/admin`, `/admin/…`, `/_builder`, `/_builder/…` (not `/administration`)."""
    first = path.lstrip("/").split("/", 1)[0].lower()
    return first in BUILDER_SEGMENTS


def _networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    nets: list[IPNetwork] = []
    for entry in entries:
        net = ipaddress.ip_network(entry, strict=False)
        if isinstance(net, ipaddress.IPv6Network) and net.network_address.ipv4_mapped is not None:
            mapped = net.network_address.ipv4_mapped
            # ::ffff:10.0.0.0/104 is 10.0.0.0/8 written as IPv6
            net = ipaddress.IPv4Network((mapped, max(net.prefixlen - 96, 0)), strict=False)
        nets.append(net)
    return tuple(nets)


@dataclass(frozen=True, slots=True)
class Allowlist:
    """The parsed allow-lists of one compiled portal."""

    portal: tuple[IPNetwork, ...]
    roles: Mapping[str, tuple[IPNetwork, ...]]
    builder: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, model: PortalModel) -> Allowlist:
        """Parse the model's lists (the validator has checked every entry)."""
        roles = {role: _networks(nets) for role, nets in model.auth.ip_roles.items() if nets}
        return cls(_networks(model.auth.ip_portal), roles, _networks(model.auth.ip_builder))

    @property
    def empty(self) -> bool:
        """True when nothing is restricted."""
        return not self.portal and not self.roles and not self.builder

    def allows(self, ip_text: str, roles: Iterable[str], path: str = "/") -> bool:
        """True when a client at `ip_text` holding `roles` may request `path`."""
        lists = [self.portal] if self.portal else []
        if self.builder and is_builder_path(path):
            lists.append(self.builder)
        lists.extend(self.roles[role] for role in roles if role in self.roles)
        if not lists:
            return True
        ip = parse_ip(ip_text)
        if ip is None:  # an unknown address satisfies no list
            return False
        return all(any(ip in net for net in nets) for nets in lists)


class IpAllowlistGuard:
    """The request guard; parses each compiled portal's lists once (by definition sha256)."""

    #: the definition setting this guard enforces: a portal that sets it is not served when
    #: this plugin is missing or disabled (an allow-list must never silently stop working)
    enforces = ("auth.ip_allowlist",)

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], Allowlist] = {}
        self._lock = threading.Lock()

    def allowlist(self, model: PortalModel) -> Allowlist:
        """The parsed lists of `model`, from the cache when this version was seen before."""
        key = (model.slug, model.sha256)
        found = self._cache.get(key)
        if found is None:
            found = Allowlist.of(model)
            with self._lock:
                if len(self._cache) >= CACHE_SIZE:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = found
        return found

    def __call__(self, request: GuardRequest) -> bool:
        lists = self.allowlist(request.model)
        if lists.empty:
            return True
        roles = request.actor.roles if request.actor.is_authenticated else ()
        return lists.allows(request.client_ip, roles, request.path)


@hookimpl
def portalis_request_guards() -> list[RequestGuard]:
    """One allow-list guard per application."""
    return [IpAllowlistGuard()]

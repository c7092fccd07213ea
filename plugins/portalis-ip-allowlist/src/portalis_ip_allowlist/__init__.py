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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from portalis.api import (
    DefinitionSection,
    GuardRequest,
    JsonPath,
    PortalModel,
    RequestGuard,
    SectionContext,
    hookimpl,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: the first path segments the `builder` list protects
BUILDER_SEGMENTS = ("admin", "_builder")


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


#: `auth.ip_allowlist` (its `cidr` definition joins the definition schema's `$defs`)
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "portal": {
            "type": "array",
            "items": {"$ref": "#/$defs/cidr"},
            "description": "Networks allowed to use the portal (empty: all).",
        },
        "roles": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"$ref": "#/$defs/cidr"}},
            "description": "Role → networks its users may come from.",
        },
        "builder": {
            "type": "array",
            "items": {"$ref": "#/$defs/cidr"},
            "description": "Networks allowed to use the builder and admin area.",
        },
    },
    "additionalProperties": False,
    "description": "Network allow-lists.",
    "$defs": {
        "cidr": {
            "type": "string",
            "description": "An IPv4 or IPv6 network in CIDR notation (e.g. "
            "10.0.0.0/8, 2001:db8::/32).",
            "maxLength": 64,
        }
    },
}


def check_allowlist(value: Mapping[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """Every entry is a network; `roles:` names roles of the portal."""
    entries: list[tuple[JsonPath, Any]] = []
    for key in ("portal", "builder"):
        entries.extend(((*path, key, i), v) for i, v in enumerate(value.get(key) or []))
    for role, nets in (value.get("roles") or {}).items():
        if role not in ctx.roles:
            ctx.problem(
                "ref-unknown-role",
                f"unknown role {role!r}",
                (*path, "roles", role),
                ctx.suggest(role, ctx.roles),
                key=True,
            )
        entries.extend(((*path, "roles", role, i), v) for i, v in enumerate(nets or []))
    for where, entry in entries:
        try:
            ipaddress.ip_network(str(entry), strict=False)
        except ValueError:
            ctx.problem(
                "schema-format",
                f"{entry!r} is not an IP network",
                where,
                "write networks as 10.0.0.0/8 or 2001:db8::/32",
            )


@dataclass(frozen=True, slots=True)
class Allowlist:
    """The parsed allow-lists of one compiled portal."""

    portal: tuple[IPNetwork, ...]
    roles: Mapping[str, tuple[IPNetwork, ...]]
    builder: tuple[IPNetwork, ...] = ()

    @classmethod
    def compile(cls, value: Mapping[str, Any]) -> Allowlist:
        """Parse `auth.ip_allowlist` once per portal version (the check has seen every entry)."""
        roles = {role: _networks(nets) for role, nets in (value.get("roles") or {}).items()}
        return cls(
            _networks(value.get("portal") or ()),
            {role: nets for role, nets in roles.items() if nets},
            _networks(value.get("builder") or ()),
        )

    @classmethod
    def of(cls, model: PortalModel) -> Allowlist:
        """The compiled lists of `model` (empty when it sets no `auth.ip_allowlist`)."""
        found = model.auth.section("ip_allowlist")
        return found if isinstance(found, Allowlist) else cls((), {})

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
    """The request guard: reads the lists compiled with the portal version (no parsing, no
    lookup per request beyond the model's attribute)."""

    def __call__(self, request: GuardRequest) -> bool:
        lists = Allowlist.of(request.model)
        if lists.empty:
            return True
        roles = request.actor.roles if request.actor.is_authenticated else ()
        return lists.allows(request.client_ip, roles, request.path)


ALLOWLIST_SECTION = DefinitionSection(
    "auth",
    "ip_allowlist",
    SCHEMA,
    "IP allow-lists",
    "Networks a portal's visitors, the holders of a role, or the users of the admin area "
    "and the builder must come from. Enforced as a request guard; a portal that sets it is "
    "not served where this plugin is not loaded.",
    'portal: ["10.0.0.0/8"]\nroles: {agent: ["192.0.2.0/24"]}\nbuilder: ["10.1.0.0/16"]',
    check_allowlist,
    Allowlist.compile,
)


@hookimpl
def portalis_definition_sections() -> list[DefinitionSection]:
    """`auth.ip_allowlist`."""
    return [ALLOWLIST_SECTION]


@hookimpl
def portalis_request_guards() -> list[RequestGuard]:
    """One allow-list guard per application."""
    return [IpAllowlistGuard()]

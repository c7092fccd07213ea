"""The options of one `type: ldap` provider entry, read once when the entry is bound."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

#: The group search filter when the entry sets `group_search_base` but no `group_filter`.
DEFAULT_GROUP_FILTER = "(|(member={dn})(uniqueMember={dn})(memberUid={username}))"
#: Seconds to wait for the directory when the entry sets no `timeout`.
DEFAULT_TIMEOUT = 5


@dataclass(frozen=True, slots=True)
class LdapOptions:
    """Connection, user lookup and attribute options of an LDAP entry."""

    url: str
    host: str
    port: int
    use_ssl: bool
    start_tls: bool
    ca_file: str | None
    timeout: int
    #: direct bind: a DN with `{username}`
    bind_dn_template: str | None
    #: the service account (search-then-bind, reading entries, group search)
    bind_dn: str | None
    bind_password: str | None
    user_search_base: str | None
    user_filter: str | None
    group_search_base: str | None
    group_filter: str
    roles_from: str
    email_attribute: str
    name_attribute: str
    #: extra attributes read for `account_from: attribute:<name>`
    extra_attributes: tuple[str, ...]

    @property
    def attributes(self) -> list[str]:
        """The user entry's attributes to read (deduplicated, in a stable order)."""
        wanted = [self.email_attribute, self.name_attribute, self.roles_from, "uid"]
        return list(dict.fromkeys([*wanted, *self.extra_attributes]))


def _text(options: Mapping[str, Any], key: str) -> str | None:
    value = options.get(key)
    if value is None or str(value).strip() == "":
        return None
    return str(value)


def parse_options(options: Mapping[str, Any]) -> LdapOptions:
    """Validated options; ValueError names what is wrong (the schema and the semantic checks
    catch most mistakes earlier, this guards the runtime against what they cannot see)."""
    url = str(options.get("url") or "")
    parts = urlsplit(url)
    if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise ValueError(f"LDAP url {url!r} must be ldap://host[:port] or ldaps://host[:port]")
    use_ssl = parts.scheme == "ldaps"
    start_tls = bool(options.get("start_tls"))
    if use_ssl and start_tls:
        raise ValueError("start_tls is for ldap:// URLs; an ldaps:// URL is already encrypted")
    template = _text(options, "bind_dn_template")
    search_base, user_filter = _text(options, "user_search_base"), _text(options, "user_filter")
    if template is not None and "{username}" not in template:
        raise ValueError("bind_dn_template must contain {username}")
    if template is None and (search_base is None or user_filter is None):
        raise ValueError("set bind_dn_template, or user_search_base and user_filter")
    if template is None and user_filter is not None and "{username}" not in user_filter:
        raise ValueError("user_filter must contain {username}")
    bind_dn = _text(options, "bind_dn")
    bind_password = options.get("bind_password")
    if bind_dn is not None and not bind_password:
        raise ValueError("bind_dn needs a non-empty bind_password (is its variable set?)")
    account_from = str(options.get("account_from") or "")
    extra = (
        (account_from.partition(":")[2].strip(),) if account_from.startswith("attribute:") else ()
    )
    timeout = int(options.get("timeout") or DEFAULT_TIMEOUT)
    return LdapOptions(
        url=url,
        host=parts.hostname,
        port=parts.port or (636 if use_ssl else 389),
        use_ssl=use_ssl,
        start_tls=start_tls,
        ca_file=_text(options, "ca_file"),
        timeout=max(1, min(timeout, 60)),
        bind_dn_template=template,
        bind_dn=bind_dn,
        bind_password=str(bind_password) if bind_password else None,
        user_search_base=search_base,
        user_filter=user_filter,
        group_search_base=_text(options, "group_search_base"),
        group_filter=_text(options, "group_filter") or DEFAULT_GROUP_FILTER,
        roles_from=_text(options, "roles_from") or "memberOf",
        email_attribute=_text(options, "email_attribute") or "mail",
        name_attribute=_text(options, "name_attribute") or "cn",
        extra_attributes=extra,
    )

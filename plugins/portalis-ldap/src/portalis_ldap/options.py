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
    """The entry's options, typed and with defaults. The rules of an entry (URL scheme and
    host, one way to find users, `{username}` where it is needed, a password for the service
    account) are the definition section's checks (`section.check_ldap`), which every version
    passed before it is bound; what remains here is what only the environment decides: an
    empty `${ENV}` value of `bind_password` (ValueError)."""
    url = str(options.get("url") or "")
    parts = urlsplit(url)
    use_ssl = parts.scheme == "ldaps"
    template = _text(options, "bind_dn_template")
    search_base, user_filter = _text(options, "user_search_base"), _text(options, "user_filter")
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
        host=parts.hostname or "",
        port=parts.port or (636 if use_ssl else 389),
        use_ssl=use_ssl,
        start_tls=bool(options.get("start_tls")),
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

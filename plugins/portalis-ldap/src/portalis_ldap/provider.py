"""The `ldap` provider type and the provider bound to one entry of one portal version."""

from __future__ import annotations

from dataclasses import dataclass

import ldap3

from portalis.api import AuthProvider
from portalis.web import BindContext, ExternalIdentity, LoginRefused, ProviderKind

from .connect import bound, make_server
from .identity import make_identity
from .inputs import checked_credentials, user_dn_from_template
from .lookup import find_user_dn, read_entry, search_groups
from .options import LdapOptions, parse_options


@dataclass(frozen=True, slots=True)
class LdapProvider:
    """An LDAP entry bound for one portal version: `authenticate` checks a user name and
    password against the directory and returns the identity it asserts."""

    entry: AuthProvider
    options: LdapOptions
    kind: ProviderKind = "form"

    def authenticate(self, username: str, password: str) -> ExternalIdentity:
        """The identity for these credentials; LoginRefused (reason for the audit log) on
        every failure. Input that must not reach the directory is refused first."""
        name = checked_credentials(username, password)
        server = make_server(self.options)
        dn = self._user_dn(server, name)
        groups: list[str] = []
        with bound(server, self.options, dn, password, "user") as user_conn:
            read = read_entry(user_conn, self.options, dn)
            if read is not None and not self._uses_service():
                groups = search_groups(user_conn, self.options, read[0], name)
        if self._uses_service() and (read is None or self.options.group_search_base):
            # the user may not read their own entry, or groups are searched as the service
            with bound(server, self.options, *self._service(), "service") as conn:
                read = read or read_entry(conn, self.options, dn)
                if read is not None:
                    groups = search_groups(conn, self.options, read[0], name)
        if read is None:
            raise LoginRefused("entry_unreadable")
        entry_dn, attributes = read
        return make_identity(self.entry.name, self.options, entry_dn, attributes, groups)

    def _uses_service(self) -> bool:
        return self.options.bind_dn is not None

    def _service(self) -> tuple[str | None, str | None]:
        return self.options.bind_dn, self.options.bind_password

    def _user_dn(self, server: ldap3.Server, username: str) -> str:
        if self.options.bind_dn_template is not None:
            return user_dn_from_template(self.options.bind_dn_template, username)
        # search-then-bind: as the service account, or anonymously when none is configured
        with bound(server, self.options, *self._service(), "service") as conn:
            return find_user_dn(conn, self.options, username)


class LdapProviderType:
    """The `ldap` provider type (a user-name/password form on the login page)."""

    name = "ldap"
    kind: ProviderKind = "form"

    def bind(self, entry: AuthProvider, ctx: BindContext) -> LdapProvider:
        """Read and check the entry's options (ValueError when they cannot work)."""
        return LdapProvider(entry, parse_options(entry.options))

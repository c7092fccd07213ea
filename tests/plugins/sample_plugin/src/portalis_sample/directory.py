"""The `sample_directory` provider type: a user-name/password form on the login page.

The provider only says who signed in: it checks the password against the entry's compiled
`Directory` and returns an `ExternalIdentity`. The core does the rest — throttling, one
answer for every failure, the audit log, mapping the identity to a user, an account and roles
(provisioning on the first sign-in when the entry allows it), the second factor and the
session — exactly as for LDAP.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from portalis.api import AuthProvider
from portalis.web import BindContext, ExternalIdentity, LoginRefused, ProviderKind

from .directory_section import Directory
from .passwords import PasswordHash, verify

#: Longest user name looked up (the schema allows 64 characters).
MAX_USERNAME = 64


@dataclass(frozen=True, slots=True)
class SampleDirectoryProvider:
    """A `sample_directory` entry bound for one portal version."""

    entry: AuthProvider
    directory: Directory
    #: verified for unknown user names: as many iterations as the costliest real hash
    dummy: PasswordHash
    kind: ProviderKind = "form"

    @property
    def issuer(self) -> str:
        """Identities are bound by (issuer, subject): the entry's name names the directory."""
        return f"urn:portalis-sample:directory:{self.entry.name}"

    def authenticate(self, username: str, password: str) -> ExternalIdentity:
        """The identity for these credentials; LoginRefused with the reason otherwise. An
        unknown user name costs the same hashing as a wrong password."""
        if not password:
            raise LoginRefused("empty_password")
        name = username.strip().lower()
        if not name or len(name) > MAX_USERNAME:
            raise LoginRefused("invalid_username")
        user = self.directory.users.get(name)
        stored = user.password if user is not None else self.dummy
        matches = verify(stored, password, self.directory.pepper)
        if user is None:
            raise LoginRefused("user_not_found")
        if not matches:
            raise LoginRefused("bad_password")
        return ExternalIdentity(
            provider=self.entry.name,
            issuer=self.issuer,
            subject=user.username,
            email=user.email,
            email_verified=True,  # the directory's author vouches for the addresses
            name=user.name,
            claims={
                "username": user.username,
                "groups": list(user.groups),
                **({"account": user.account} if user.account else {}),
            },
            groups=user.groups,
        )


class SampleDirectoryType:
    """The `sample_directory` provider type."""

    name = "sample_directory"
    kind: ProviderKind = "form"

    def bind(self, entry: AuthProvider, ctx: BindContext) -> SampleDirectoryProvider:
        """The provider of `entry`; its compiled `Directory` is ready (no I/O here)."""
        if not isinstance(entry.config, Directory):
            raise ValueError(f"provider {entry.name!r} was not compiled by the sample plugin")
        if entry.config.pepper.startswith("${"):
            raise ValueError(f"provider {entry.name!r}: the pepper's variable is not set")
        costliest = max(user.password.iterations for user in entry.config.users.values())
        dummy = PasswordHash(costliest, os.urandom(16), os.urandom(32))
        return SampleDirectoryProvider(entry, entry.config, dummy)

"""Connections to the directory: TLS that verifies the server, timeouts, simple binds.

Every connection is opened for one sign-in and closed after it (a pool would keep a bound
identity around between users). With `ldaps://` or `start_tls: true` the server certificate
must chain to `ca_file` (or the system CAs) and name the host (ssl.CERT_REQUIRED); a failed
StartTLS is a refusal, never a fallback to plain text.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import ldap3
from ldap3.core.exceptions import LDAPException

from portalis.web import LoginRefused

from .options import LdapOptions


def make_server(options: LdapOptions) -> ldap3.Server:
    """The ldap3 server of an entry (no network traffic yet)."""
    tls = None
    if options.use_ssl or options.start_tls:
        tls = ldap3.Tls(
            validate=ssl.CERT_REQUIRED,
            ca_certs_file=options.ca_file,
            # version None: ldap3 uses ssl.create_default_context (TLS 1.2+, sane ciphers)
        )
    return ldap3.Server(
        options.host,
        port=options.port,
        use_ssl=options.use_ssl,
        tls=tls,
        connect_timeout=options.timeout,
        get_info=ldap3.NONE,
    )


@contextmanager
def bound(
    server: ldap3.Server, options: LdapOptions, dn: str | None, password: str | None, who: str
) -> Iterator[ldap3.Connection]:
    """A connection bound as `dn` (anonymous when None), closed afterwards.

    Refusal reasons name `who` (user or service) and what failed, for the audit log:
    `<who>_unreachable`, `tls_failed`, `<who>_bind_failed:<ldap result>`.
    """
    conn = ldap3.Connection(
        server,
        user=dn,
        password=password,
        authentication=ldap3.SIMPLE if dn else ldap3.ANONYMOUS,
        receive_timeout=options.timeout,
        raise_exceptions=False,
        read_only=True,
    )
    try:
        try:
            conn.open()
        except LDAPException as error:
            raise LoginRefused(f"{who}_unreachable: {type(error).__name__}") from error
        if options.start_tls:
            try:
                started = conn.start_tls()
            except LDAPException as error:
                raise LoginRefused(f"tls_failed: {type(error).__name__}") from error
            if not started:
                raise LoginRefused("tls_failed")
        try:
            ok = conn.bind()
        except LDAPException as error:
            raise LoginRefused(f"{who}_unreachable: {type(error).__name__}") from error
        if not ok:
            result = str((conn.result or {}).get("description") or "bind refused")
            raise LoginRefused(f"{who}_bind_failed: {result}")
        yield conn
    finally:
        try:
            conn.unbind()
        except LDAPException:
            pass  # the connection is gone either way

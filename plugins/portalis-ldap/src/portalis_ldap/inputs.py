"""What a typed user name may be, and how it enters a DN or a search filter (SECURITY A.31).

The user name is data, never syntax: in a DN it is escaped as an attribute value (RFC 4514),
in a filter as an assertion value (RFC 4515), so `*`, `(`, `)`, `,`, `=` and NUL match
literally or not at all. An empty password is refused before anything else: a simple bind
with a DN and no password is an *unauthenticated* bind, which many servers answer with
success (RFC 4513 §5.1.2).
"""

from __future__ import annotations

from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn, parse_dn

from portalis.web import LoginRefused

#: The longest user name looked at (directories use far shorter ones).
USERNAME_MAX = 256


def checked_credentials(username: str, password: str) -> str:
    """The user name to use (surrounding spaces removed); LoginRefused for input that must
    never reach the directory."""
    if not password:
        raise LoginRefused("empty_password")
    name = username.strip()
    if not name:
        raise LoginRefused("empty_username")
    if len(name) > USERNAME_MAX or "\x00" in name or "\x00" in password:
        raise LoginRefused("invalid_username")
    return name


def user_dn_from_template(template: str, username: str) -> str:
    """`template` with `{username}` replaced by the escaped value; LoginRefused when the
    result is not a valid DN."""
    dn = template.replace("{username}", escape_rdn(username))
    try:
        parse_dn(dn)
    except Exception as error:  # ldap3 raises several exception types for malformed DNs
        raise LoginRefused("invalid_dn") from error
    return dn


def fill_filter(template: str, **values: str) -> str:
    """`template` with each `{name}` replaced by its escaped value."""
    result = template
    for name, value in values.items():
        result = result.replace("{" + name + "}", escape_filter_chars(value))
    return result


def normalise_dn(dn: str) -> str:
    """A DN in the form used as identity subject: attribute types and values lower-case,
    no spaces around separators (escapes are kept as the server wrote them)."""
    parts = parse_dn(dn, escape=False, strip=True)
    return ",".join(f"{attr.strip().lower()}={value.strip()}" for attr, value, _ in parts).lower()

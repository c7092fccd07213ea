"""Contact field types: email, phone, url."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import urlsplit

import sqlalchemy as sa

from ..fields import FieldValueError
from ._base import BuiltinType, is_blank, max_length, require_text

if TYPE_CHECKING:
    from ..model import Field

EMAIL_MAX: Final = 254
PHONE_MAX: Final = 32
URL_MAX: Final = 2048

#: One dot-free run of an unquoted local part: RFC 5322 atext plus non-ASCII letters, that is
#: anything but whitespace, specials, controls and surrogates.
_ATOM: Final = r"[^\s@\"(),:;<>\[\]\\.\x00-\x1f\x7f-\x9f\ud800-\udfff]+"
_LOCAL: Final = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
#: One DNS label: letters and digits, hyphens inside (the end is checked separately).
_LABEL: Final = re.compile(r"[^\W_](?:[^\W_]|-){0,62}")


class _ContactType(BuiltinType):
    """Base of the contact types: searchable text in a VARCHAR of `max_chars`."""

    searchable = True
    #: The longest value stored, and the column's VARCHAR length.
    max_chars: ClassVar[int]

    def column_type(self, field: Field) -> sa.types.TypeEngine[Any]:
        """VARCHAR(`max_chars`)."""
        return sa.String(self.max_chars)

    def _stripped(self, raw: Any) -> str | None:
        """`raw` without surrounding whitespace, None when blank, refused above `max_chars`."""
        if is_blank(raw):
            return None
        return max_length(require_text(raw).strip(), self.max_chars)


class EmailType(_ContactType):
    """An e-mail address, validated the practical way (no quoted local parts, no IP hosts)."""

    name = "email"
    description = "An e-mail address (local@domain.tld); the domain is stored lower-cased."
    #: The longest address SMTP delivers.
    max_chars = EMAIL_MAX

    def clean(self, field: Field, raw: Any) -> str | None:
        """`local@domain` with the domain lower-cased."""
        value = self._stripped(raw)
        if value is None:
            return None
        local, at, domain = value.rpartition("@")
        if not at or not _valid_local(local) or not _valid_domain(domain):
            raise FieldValueError("format", "must be an e-mail address like name@example.com")
        return f"{local}@{domain.lower()}"

    def json_schema(self, field: Field) -> dict[str, Any]:
        """A string in e-mail format."""
        return {"type": "string", "format": "email", "maxLength": EMAIL_MAX}


def _valid_local(local: str) -> bool:
    return 0 < len(local) <= 64 and _LOCAL.fullmatch(local) is not None


def _valid_domain(domain: str) -> bool:
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2:
        return False
    if not all(_LABEL.fullmatch(label) and not label.endswith("-") for label in labels):
        return False
    # A top-level domain is never numeric; 'user@1.2.3.4' is an IP host, not supported here.
    return not labels[-1].isdigit() and len(labels[-1]) >= 2


_PHONE: Final = re.compile(r"\+?[0-9()\- ]+")


class PhoneType(_ContactType):
    """A phone number as people write it: digits, spaces, '-', '(', ')' and a leading '+'."""

    name = "phone"
    description = "A phone number: a leading +, digits, spaces, -, ( and ); 5 to 20 digits."
    max_chars = PHONE_MAX

    def clean(self, field: Field, raw: Any) -> str | None:
        """The number with runs of whitespace collapsed to one space."""
        if is_blank(raw):
            return None
        text = require_text(raw)
        if len(text) > 4 * PHONE_MAX:
            raise FieldValueError("too-long", "must be at most {max} characters", max=PHONE_MAX)
        value = max_length(" ".join(text.split()), PHONE_MAX)
        if _PHONE.fullmatch(value) is None:
            raise FieldValueError(
                "format", "may only contain digits, spaces, -, ( and ) after an optional +"
            )
        digits = sum(c.isdigit() for c in value)
        if not 5 <= digits <= 20:
            raise FieldValueError("format", "must have between 5 and 20 digits")
        return value

    def json_schema(self, field: Field) -> dict[str, Any]:
        """A string of phone characters."""
        return {"type": "string", "pattern": r"^\+?[0-9()\- ]+$", "maxLength": PHONE_MAX}


_HOST: Final = re.compile(r"[\w-]+(?:\.[\w-]+)*\.?")
_URL_FORBIDDEN: Final = re.compile(r"[\s\\\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class UrlType(_ContactType):
    """An absolute http(s) address."""

    name = "url"
    description = "An absolute http:// or https:// address with a host (at most 2048 characters)."
    max_chars = URL_MAX

    def clean(self, field: Field, raw: Any) -> str | None:
        """The address, stripped; refuses other schemes, relative URLs and credentials."""
        value = self._stripped(raw)
        if value is None:
            return None
        # Whitespace and backslashes are parsed differently by browsers and urllib; refusing
        # them keeps the host we check the host a browser would visit.
        if _URL_FORBIDDEN.search(value):
            raise FieldValueError("format", "must not contain spaces, backslashes or controls")
        if not _valid_url(value):
            raise FieldValueError("format", "must be an http:// or https:// address")
        return value

    def json_schema(self, field: Field) -> dict[str, Any]:
        """A string in URI format."""
        return {"type": "string", "format": "uri", "maxLength": URL_MAX}


def _valid_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return False
    # 'https://bank.example@evil.example' shows one host and visits another.
    if parts.username is not None or parts.password is not None:
        return False
    if parts.netloc.startswith("["):
        try:
            ipaddress.IPv6Address(parts.hostname)
        except ValueError:
            return False
        return True
    return _HOST.fullmatch(parts.hostname) is not None

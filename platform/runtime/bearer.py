"""Bearer secrets: session cookies, e-mailed tokens, parked sign-in flows.

The client holds a random secret; the database keeps only its digest in its place, so a
copy of the tables lets nobody in. A SHA-256 without salt is enough because the secrets are
256 random bits, not passwords.
"""

from __future__ import annotations

import hashlib
import secrets


def new_secret() -> str:
    """A fresh random secret (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What the database stores, and looks up, in place of `secret`."""
    return hashlib.sha256(secret.encode()).hexdigest()

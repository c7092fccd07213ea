"""Encryption at rest of TOTP secrets: Fernet with a key derived from the app's secret key.

The key is derived with HKDF (SHA-256) so the Flask session key itself is never used as a
cipher key; rotating the app's secret key makes stored secrets unreadable (users enrol again).
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_SALT = b"portalis-totp"
_INFO = b"portalis-totp secret encryption v1"


@lru_cache(maxsize=8)
def fernet_for(secret_key: str) -> Fernet:
    """The Fernet cipher derived from `secret_key`."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO)
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(secret_key.encode("utf-8"))))


def _fernet() -> Fernet:
    return fernet_for(str(current_app.config["SECRET_KEY"]))


def encrypt(secret: str) -> str:
    """The stored form of a base32 secret."""
    return _fernet().encrypt(secret.encode("ascii")).decode("ascii")


def decrypt(token: str) -> str:
    """The base32 secret of a stored value (InvalidToken when the key changed)."""
    return _fernet().decrypt(token.encode("ascii")).decode("ascii")

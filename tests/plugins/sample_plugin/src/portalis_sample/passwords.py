"""Password hashes of the sample directory: PBKDF2-HMAC-SHA256 over the password peppered
with a secret that lives in the environment, never in the definition.

A hash reads `pbkdf2_sha256$<iterations>$<salt, base64>$<digest, base64>`. Whoever reads the
definition (it sits in git) learns the hashes but not the pepper, so the hashes cannot be
attacked offline without also stealing the servers' environment. Make one with
`python -m portalis_sample.passwords` (it asks for the pepper and the password).
"""

from __future__ import annotations

import base64
import binascii
import getpass
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Final

SCHEME: Final = "pbkdf2_sha256"
#: OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
ITERATIONS: Final = 600_000
#: The fewest iterations a definition may use.
MIN_ITERATIONS: Final = 100_000
#: Hashes with more would let a definition make every sign-in take minutes.
MAX_ITERATIONS: Final = 10_000_000


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """A parsed hash."""

    iterations: int
    salt: bytes
    digest: bytes


def _peppered(password: str, pepper: str) -> bytes:
    return hmac.new(pepper.encode(), password.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def make_hash(
    password: str, pepper: str, *, iterations: int = ITERATIONS, salt: bytes | None = None
) -> str:
    """The hash of `password` with `pepper` (a fresh 16-byte salt unless one is given)."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", _peppered(password, pepper), salt, iterations)
    return f"{SCHEME}${iterations}${_b64(salt)}${_b64(digest)}"


def parse_hash(text: str) -> PasswordHash:
    """The parts of a hash; ValueError with the reason when it is not one."""
    parts = text.split("$")
    if len(parts) != 4 or parts[0] != SCHEME:
        raise ValueError(f"not a {SCHEME}$<iterations>$<salt>$<digest> hash")
    if not parts[1].isdigit():
        raise ValueError("the iteration count is not a number")
    iterations = int(parts[1])
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"{iterations} iterations; use {MIN_ITERATIONS} to {MAX_ITERATIONS}")
    try:
        salt = base64.b64decode(parts[2], validate=True)
        digest = base64.b64decode(parts[3], validate=True)
    except binascii.Error as exc:
        raise ValueError("the salt or digest is not base64") from exc
    if len(salt) < 8 or len(digest) != 32:
        raise ValueError("the salt must have 8 bytes or more, the digest 32")
    return PasswordHash(iterations, salt, digest)


def verify(stored: PasswordHash, password: str, pepper: str) -> bool:
    """True when `password` matches (constant-time comparison)."""
    digest = hashlib.pbkdf2_hmac(
        "sha256", _peppered(password, pepper), stored.salt, stored.iterations
    )
    return hmac.compare_digest(digest, stored.digest)


def main() -> None:
    """Print the hash of a password typed twice, for the pepper typed first."""
    pepper = getpass.getpass("Pepper (the value of the pepper option's variable): ")
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Password again: "):
        raise SystemExit("the passwords differ")
    print(make_hash(password, pepper))


if __name__ == "__main__":
    main()

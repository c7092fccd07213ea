"""TOTP time steps and recovery codes (pure functions, no database)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

import pyotp

#: Seconds per TOTP step (RFC 6238 default; what authenticator apps use).
STEP_SECONDS = 30
#: Steps accepted either side of the current one (clock drift of the phone).
VALID_WINDOW = 1
#: Recovery codes issued at enrolment and at every regeneration.
RECOVERY_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes
_RECOVERY_LENGTH = 16  # 16 symbols of 31: ~79 bits of entropy
#: A source of the current Unix time (`time.time`).
Clock = Callable[[], float]


def new_secret() -> str:
    """A fresh random base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(length=32)


def current_step(clock: Clock = time.time) -> int:
    """The TOTP time step of now."""
    return int(clock() // STEP_SECONDS)


def is_totp_code(code: str) -> bool:
    """True when `code` looks like an authenticator code (six digits)."""
    return len(code) == 6 and code.isascii() and code.isdigit()


def matching_step(secret: str, code: str, clock: Clock = time.time) -> int | None:
    """The step within VALID_WINDOW of now whose code is `code`, or None (constant-time
    comparison for each candidate)."""
    if not is_totp_code(code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now = current_step(clock)
    found = None
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            found = step
    return found


def otpauth_uri(secret: str, *, account: str, issuer: str) -> str:
    """The `otpauth://totp/...` URI authenticator apps read from the QR code."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )


def new_recovery_codes(count: int = RECOVERY_COUNT) -> list[str]:
    """`count` fresh recovery codes, shown as four groups of four (`abcd-efgh-jkmn-pqrs`)."""
    result = []
    for _ in range(count):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        result.append("-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4)))
    return result


def normalize_recovery(code: str) -> str:
    """A typed recovery code without separators and case (what is hashed)."""
    return "".join(ch for ch in code.lower() if ch not in "- \t")


def recovery_hash(code: str) -> str:
    """The stored sha256 (hex) of a recovery code."""
    return hashlib.sha256(normalize_recovery(code).encode("utf-8")).hexdigest()

"""An authenticator app for tests of second factors: RFC 6238 codes (SHA-1, 30-second steps,
6 digits — what phone apps compute from an `otpauth://totp/…` key), written from the RFC
rather than with the server's own library, so a test also proves the two agree."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from dataclasses import dataclass

#: Seconds per time step and digits per code (the authenticator apps' defaults).
STEP_SECONDS = 30
DIGITS = 6


#: How long before a step ends its predecessor's code is no longer handed out.
SAFETY_SECONDS = 8


def code_at(secret: str, step: int) -> str:
    """The code of base32 `secret` for time step `step` (RFC 6238 / RFC 4226)."""
    key = base64.b32decode(secret.replace(" ", "").upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


@dataclass
class Authenticator:
    """A phone's authenticator app: the code of the current step, never one of a step the
    server already accepted (it waits for the next step like a user would)."""

    secret: str
    used: int = -1

    def now(self) -> str:
        """The code of the current step (what the app shows)."""
        return code_at(self.secret, int(time.time() // STEP_SECONDS))

    def code(self) -> str:
        """A code the server accepts now: the oldest step of the window (one step back,
        one ahead) not used yet."""
        now = time.time()
        current = int(now // STEP_SECONDS)
        # the previous step's code stops working when this step ends: not when that is a few
        # seconds away (a slow request would arrive after it, and the code be refused)
        oldest = current - 1 if STEP_SECONDS - now % STEP_SECONDS > SAFETY_SECONDS else current
        step = max(self.used + 1, oldest)
        while step > int(time.time() // STEP_SECONDS) + 1:  # the window is used up: wait
            time.sleep(0.2)
        self.used = step
        return code_at(self.secret, step)

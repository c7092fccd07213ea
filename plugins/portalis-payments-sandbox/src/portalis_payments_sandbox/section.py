"""The options of a `payments.providers` entry with `type: sandbox` (owned by this plugin):
schema, checks, documentation and the frozen `SandboxConfig` the provider's methods receive."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portalis.api import DefinitionSection, JsonPath, SectionContext

#: The provider type (`type: sandbox`) and the section's name.
PROVIDER_NAME = "sandbox"
#: A shorter secret is refused when its value is known (validation with the environment).
MIN_SECRET_LENGTH = 32
DEFAULT_TOLERANCE_SECONDS = 300
DEFAULT_SETTLE_AFTER_SECONDS = 30

#: The options of a `type: sandbox` entry (the core adds `type`, `name` and `label`).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "secret": {
            "type": "string",
            "description": "The key (HMAC-SHA256) that signs the checkout links and the events "
            f"the sandbox sends; at least {MIN_SECRET_LENGTH} characters, "
            'e.g. from `openssl rand -hex 32`. Write it as "${SANDBOX_PAYMENTS_SECRET}". '
            "Without it the sandbox signs with a key derived from the platform's secret key "
            "(PORTALIS_SECRET_KEY): the same in every process, so demos need no setting.",
        },
        "tolerance_seconds": {
            "type": "integer",
            "minimum": 30,
            "maximum": 3600,
            "description": "How far an event's signed time may be from the portal's clock, in "
            f"seconds, before it is refused as a replay (default {DEFAULT_TOLERANCE_SECONDS}).",
        },
        "settle_after_seconds": {
            "type": "integer",
            "minimum": 1,
            "maximum": 86400,
            "description": 'How long "Approve and settle later" stays pending before it '
            f"succeeds, in seconds (default {DEFAULT_SETTLE_AFTER_SECONDS}).",
        },
    },
    "additionalProperties": False,
    "description": "The sandbox payment provider: a test checkout page, no real money.",
}


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """The compiled options of one `type: sandbox` entry (what every method receives)."""

    #: the HMAC key of checkout links and event signatures (never shown in a repr); None:
    #: the installation's derived key (`ProviderContext.derive_key`)
    secret: str | None = field(default=None, repr=False)
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS
    settle_after_seconds: int = DEFAULT_SETTLE_AFTER_SECONDS

    @classmethod
    def compile(cls, value: Mapping[str, Any]) -> SandboxConfig:
        """The config of a checked entry."""
        return cls(
            secret=str(value["secret"]) if "secret" in value else None,
            tolerance_seconds=int(value.get("tolerance_seconds", DEFAULT_TOLERANCE_SECONDS)),
            settle_after_seconds=int(
                value.get("settle_after_seconds", DEFAULT_SETTLE_AFTER_SECONDS)
            ),
        )


def _is_reference(value: str) -> bool:
    """True for a `${NAME}` reference left as written (validation without the environment)."""
    return value.startswith("${") and value.endswith("}")


def check_sandbox(value: Mapping[str, Any], path: JsonPath, ctx: SectionContext) -> None:
    """A known secret is long enough to be a key (the core checks that it is an `${ENV}`
    reference)."""
    if "secret" not in value:
        return
    secret = str(value["secret"])
    if not _is_reference(secret) and len(secret) < MIN_SECRET_LENGTH:
        ctx.problem(
            "schema-format",
            f"the sandbox secret has {len(secret)} characters; it needs at least "
            f"{MIN_SECRET_LENGTH}",
            (*path, "secret"),
            "set the environment variable to a random key, e.g. `openssl rand -hex 32`",
        )


SANDBOX_SECTION = DefinitionSection(
    "payment",
    PROVIDER_NAME,
    SCHEMA,
    "Sandbox payments",
    "A payment provider for demos and tests: the payer lands on a test checkout page of this "
    'server (`/_sandbox-pay/…`, marked "no real money") and chooses what happens — approve, '
    "decline, approve after a verification code (1234), approve and settle later, or cancel. "
    "The sandbox then posts a signed event to the portal like a real network would. Never "
    "offer it where real goods or services depend on a payment.",
    'label: {en: Card (test), de: Karte (Test)}\nsecret: "${SANDBOX_PAYMENTS_SECRET}"\n'
    "settle_after_seconds: 60",
    check_sandbox,
    SandboxConfig.compile,
    secret_options=("secret",),
)

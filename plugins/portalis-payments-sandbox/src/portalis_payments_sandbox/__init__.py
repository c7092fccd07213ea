"""portalis-payments-sandbox: a payment provider for demos and tests — no real money.

Registers the payment provider type `sandbox` (`payments.providers: [{type: sandbox, secret:
"${SANDBOX_PAYMENTS_SECRET}"}]`). A checkout is a row of the plugin's own table; the payer is
sent to the plugin's hosted test page at `/_sandbox-pay/<id>` and chooses what happens:
approve, decline, approve after a verification code, approve and settle later, or cancel. The
page then posts a signed event (`Sandbox-Signature: t=…,v1=…`, HMAC-SHA256 with the entry's
secret) to the portal's events URL, as a real network would. `sign` signs events for tests
and scripts.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint

from portalis.api import DefinitionSection, PaymentProvider, hookimpl

from .events import EventData, event_body
from .pages import make_blueprint
from .provider import SandboxProvider
from .section import PROVIDER_NAME, SANDBOX_SECTION, SandboxConfig
from .signing import SIGNATURE_HEADER, sign
from .tables import metadata

__all__ = [
    "PROVIDER_NAME",
    "SIGNATURE_HEADER",
    "EventData",
    "SandboxConfig",
    "SandboxProvider",
    "event_body",
    "sign",
]

TEMPLATES = Path(__file__).parent / "templates"


@hookimpl
def portalis_definition_sections() -> list[DefinitionSection]:
    """The options of `type: sandbox` entries of `payments.providers`."""
    return [SANDBOX_SECTION]


@hookimpl
def portalis_payment_providers() -> list[PaymentProvider]:
    """The `sandbox` provider type."""
    return [SandboxProvider()]


@hookimpl
def portalis_runtime_tables() -> list[sa.MetaData]:
    """Checkouts, refunds and signing keys."""
    return [metadata]


@hookimpl
def portalis_platform_blueprints() -> list[Blueprint]:
    """The hosted test checkout at `/_sandbox-pay/`."""
    return [make_blueprint()]


@hookimpl
def portalis_template_folders() -> list[str]:
    """`sandbox_pay/*.html`."""
    return [str(TEMPLATES)]

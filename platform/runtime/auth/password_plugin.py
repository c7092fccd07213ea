"""The built-in password provider, registered as a default plugin."""

from __future__ import annotations

from typing import Any

from portalis.engine.plugins import hookimpl


class PasswordProvider:
    """E-mail + password login (policy from the definition's password provider entry)."""

    name = "password"
    options_schema: dict[str, Any] = {}


@hookimpl
def portalis_auth_provider_types() -> list[Any]:
    """The password provider type."""
    return [PasswordProvider()]

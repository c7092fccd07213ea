"""Missing services in tests: skip locally, fail under CI (`CI=true`)."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    """True when running under CI (`CI=true`), where missing services are failures."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(reason: str | None) -> None:
    """Skip (locally) or fail (in CI) when `reason` says a service is missing."""
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"required service missing in CI: {reason}")
    pytest.skip(reason)

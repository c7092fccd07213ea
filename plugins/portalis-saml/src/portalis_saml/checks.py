"""Checks on a parsed SAML response, on top of pysaml2's own (defence in depth: each rule of
the SAML Web Browser SSO profile the plugin relies on is verified here explicitly, so a
pysaml2 configuration change cannot silently drop it)."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime
from typing import Any

from saml2.saml import SCM_BEARER
from saml2.time_util import str_to_time

from portalis.web import LoginRefused

from .sp_config import LEEWAY_SECONDS, SpUrls


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    return float(calendar.timegm(str_to_time(text)))


def expiry(assertion: Any) -> datetime:
    """When the assertion stops being usable (latest NotOnOrAfter, plus the leeway)."""
    times = [_epoch(getattr(assertion.conditions, "not_on_or_after", None))]
    for confirmation in assertion.subject.subject_confirmation or ():
        data = confirmation.subject_confirmation_data
        times.append(_epoch(getattr(data, "not_on_or_after", None)))
    latest = max((t for t in times if t is not None), default=time.time() + 3600)
    return datetime.fromtimestamp(latest + LEEWAY_SECONDS, tz=UTC)


def check_assertion(
    response: Any, assertion: Any, urls: SpUrls, request_id: str, now: float | None = None
) -> None:
    """Audience, recipient, destination, validity window and InResponseTo, or LoginRefused."""
    now = time.time() if now is None else now
    destination = getattr(response, "destination", None)
    if destination and destination != urls.acs_url:
        raise LoginRefused("wrong_destination")
    if getattr(response, "in_response_to", None) not in (None, request_id):
        raise LoginRefused("wrong_in_response_to")
    if assertion.signature is None:
        raise LoginRefused("assertion_unsigned")
    conditions = assertion.conditions
    if conditions is None:
        raise LoginRefused("no_conditions")
    audiences = {
        audience.text.strip()
        for restriction in conditions.audience_restriction or ()
        for audience in restriction.audience or ()
        if audience.text
    }
    if urls.entity_id not in audiences:
        raise LoginRefused("wrong_audience")
    not_before = _epoch(conditions.not_before)
    if not_before is not None and now + LEEWAY_SECONDS < not_before:
        raise LoginRefused("not_yet_valid")
    not_after = _epoch(conditions.not_on_or_after)
    if not_after is not None and now - LEEWAY_SECONDS >= not_after:
        raise LoginRefused("expired")
    if not any(
        _bearer_ok(c, urls, request_id, now) for c in assertion.subject.subject_confirmation or ()
    ):
        raise LoginRefused("no_valid_subject_confirmation")


def _bearer_ok(confirmation: Any, urls: SpUrls, request_id: str, now: float) -> bool:
    data = confirmation.subject_confirmation_data
    if confirmation.method != SCM_BEARER or data is None:
        return False
    not_after = _epoch(data.not_on_or_after)
    return (
        data.recipient == urls.acs_url
        and data.in_response_to == request_id
        and not_after is not None  # the profile requires it on bearer confirmations
        and now - LEEWAY_SECONDS < not_after
    )

"""Problem details (RFC 9457, `application/problem+json`) for the REST API.

Views raise `ApiProblem`; the API wrapper turns it, and every record-store error, into a
response with a stable `code` member. Bodies never carry stack traces, SQL or the policy's
reasoning (ASVS 16.5): only the status, a short title, a detail safe to show and, for
validation failures, field errors.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from flask import Response, current_app

from portalis.engine.data.errors import (
    BadQuery,
    FieldMessage,
    Forbidden,
    NotFound,
    RuleConflict,
    StaleRecord,
    ValidationFailed,
)
from portalis.engine.problems import PortalisError

log = logging.getLogger("portalis.runtime.api")

PROBLEM_MIMETYPE = "application/problem+json"
#: The `WWW-Authenticate` challenge of the API: authenticate with the portal's session.
AUTH_CHALLENGE = "Session"

FieldErrors = Mapping[str, list[FieldMessage]]


class ApiProblem(Exception):
    """An API error response waiting to be rendered: status, stable code, detail, extras."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or code)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra

    def response(self) -> Response:
        """The problem+json response."""
        return problem_response(
            self.status, self.code, self.detail, headers=self.headers, **self.extra
        )


def problem_response(
    status: int,
    code: str,
    detail: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """An `application/problem+json` response with `type`, `title`, `status` and `code`."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = Response(current_app.json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def field_errors_json(errors: FieldErrors) -> dict[str, list[dict[str, str]]]:
    """`{field: [{code, message}]}` (the whole record's errors under `__all__`)."""
    return {
        name: [{"code": m.code, "message": m.text()} for m in messages]
        for name, messages in errors.items()
    }


def validation_problem(errors: FieldErrors) -> ApiProblem:
    """422 with field errors."""
    return ApiProblem(422, "invalid", "the input was refused", errors=field_errors_json(errors))


def unauthorized(detail: str = "sign in to use this resource") -> ApiProblem:
    """401 with the session challenge (anonymous actors only)."""
    return ApiProblem(401, "unauthenticated", detail, headers={"WWW-Authenticate": AUTH_CHALLENGE})


def not_found() -> ApiProblem:
    """404 without saying whether the entity or record exists for someone else."""
    return ApiProblem(404, "not-found", "no such resource")


def from_engine_error(exc: PortalisError, *, anonymous: bool) -> ApiProblem:
    """The API problem for a record-store error; any other error is raised again.

    Forbidden answers 401 to anonymous actors: signing in may help them, and it tells them
    nothing a 403 would not. The policy's explanation stays in the server log.
    """
    if isinstance(exc, NotFound):
        return not_found()
    if isinstance(exc, RuleConflict):
        # valid input that another record's current state refuses (a full slot): 409
        return ApiProblem(
            409, "conflict", "a related record refuses it", errors=field_errors_json(exc.errors)
        )
    if isinstance(exc, ValidationFailed):
        return validation_problem(exc.errors)
    if isinstance(exc, StaleRecord):
        stale = ApiProblem(409, "stale", "the record was changed by someone else")
        if exc.current_version is not None:
            stale.extra["current_version"] = exc.current_version
        return stale
    if isinstance(exc, BadQuery):
        return ApiProblem(400, "bad-query", str(exc))
    if isinstance(exc, Forbidden):
        log.info("forbidden: %s\n%s", exc, exc.reason)
        if anonymous:
            return unauthorized()
        return ApiProblem(403, "forbidden", str(exc))
    raise exc

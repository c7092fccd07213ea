"""The REST API `/<portal>/api/v1/<entity>[/<id>]` over the same record store and policy.

No second data path: every read and write goes through the portal's `RecordStore` with the
request's actor, so row filters, field masks, rules and version checks are the pages' own.
Decisions (asserted by tests/runtime/test_api*.py):

- unknown entity → 404; an entity the actor cannot read at all → 404 for signed-in actors,
  401 with `WWW-Authenticate: Session` for anonymous ones (signing in may help);
- a record the actor cannot read → 404 on GET, PATCH and DELETE alike; a visible record the
  actor may not change → 403 (401 for anonymous actors);
- POST/PATCH/DELETE need the session's CSRF token in `X-CSRF-Token` (else 403, code `csrf`);
  a GET sent with `X-CSRF-Token: fetch` returns the token in that response header;
- bodies must be `application/json` (else 415) holding one JSON object (else 400);
- system columns and fields the actor may not write → 422 (mass assignment is refused, never
  silently dropped); `version` may be sent in a PATCH body instead of `If-Match`;
- stale version → 409; bad sort/filter names → 400; field errors → 422 with `errors`;
- POST with `Idempotency-Key`: a replay returns the first response (`Idempotent-Replayed:
  true`), the key with another body → 422, a concurrent duplicate → 409;
- workflows: `GET /<entity>/<id>/transitions` lists the record's transitions with whether the
  actor may take each now and why not; `POST /<entity>/<id>/transitions/<name>` with
  `{version, comment, values}` takes one (or records an approval towards its quorum) — an
  unknown transition → 404, an unavailable one → 403 `transition-unavailable` with the
  reason, a stale version → 409, a missing comment or required field → 422.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException

from portalis.engine import workflow
from portalis.engine.errors import BadQuery, Forbidden, NotFound, StaleRecord, ValidationFailed
from portalis.engine.model import SYSTEM_COLUMNS, Entity
from portalis.engine.permissions import Actor
from portalis.engine.records import Record

from . import idempotency
from .api_input import (
    JSON_MIMETYPE,
    expected_version,
    idempotency_key,
    if_match_version,
    json_body,
    list_query,
)
from .api_schema import openapi_document
from .api_workflow import progress_json, reason_params, transition_input, transition_json
from .problem import ApiProblem, from_engine_error, not_found, problem_response, unauthorized
from .registry import RuntimePortal
from .security import CSRF_HEADER, csrf_secret, csrf_token, csrf_valid
from .urls import portal_url

log = logging.getLogger("portalis.runtime.api")

API_PREFIX: Final = "/api/v1"
#: The routes of the transition endpoints (their place is `routing.SYSTEM_ROUTES`).
_STORE_ERRORS = (NotFound, Forbidden, StaleRecord, BadQuery, ValidationFailed)

ApiView = Callable[..., Response]


def api_view(view: ApiView) -> ApiView:
    """Render `ApiProblem` and record-store errors as problem+json; hand out CSRF tokens."""

    @functools.wraps(view)
    def wrapper(portal: RuntimePortal, actor: Actor, **args: Any) -> Response:
        try:
            response = view(portal, actor, **args)
        except ApiProblem as exc:
            response = exc.response()
        except _STORE_ERRORS as exc:
            response = from_engine_error(exc, anonymous=not actor.is_authenticated).response()
        except HTTPException:
            raise  # 405, 413, …: rendered as problem+json by the app's handler
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            log.warning("database unavailable: %s", exc)
            response = problem_response(503, "unavailable", headers={"Retry-After": "5"})
        except Exception:
            if _propagate():
                raise
            log.exception("unhandled API error on %s %s", request.method, request.path)
            response = problem_response(500, "internal-error")
        if request.method in ("GET", "HEAD") and request.headers.get(CSRF_HEADER, "") == "fetch":
            response.headers[CSRF_HEADER] = csrf_token()
            response.headers["Cache-Control"] = "no-store"
        return response

    return wrapper


def _propagate() -> bool:
    flag = current_app.config.get("PROPAGATE_EXCEPTIONS")
    return bool(current_app.testing or current_app.debug) if flag is None else bool(flag)


# -- views ------------------------------------------------------------------------------
@api_view
def openapi_view(portal: RuntimePortal, actor: Actor) -> Response:
    """`GET /api/v1/openapi.json`: the document as this actor sees it (cached per role set)."""
    base_url = portal_url(API_PREFIX)
    cookie = str(current_app.config.get("SESSION_COOKIE_NAME") or "session")
    key = ("api:openapi", portal.version, actor.roles, base_url, cookie)
    text = portal.cache.get(key)
    if not isinstance(text, str):
        document = openapi_document(
            portal.store, actor, base_url=base_url, cookie_name=cookie, version=portal.version
        )
        text = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1)
        portal.cache[key] = text
    response = Response(text, mimetype=JSON_MIMETYPE)
    response.set_etag(hashlib.sha256(text.encode()).hexdigest()[:32])
    response.headers["Cache-Control"] = "private, no-cache"
    response.make_conditional(request)
    return response


@api_view
def collection_view(portal: RuntimePortal, actor: Actor, entity: str) -> Response:
    """`GET` lists records (paged, sorted, searched, filtered); `POST` creates one."""
    target = readable_entity(portal, actor, entity)
    if request.method == "POST":
        return create(portal, actor, target)
    query = list_query(request.args)
    page = portal.store.list(
        actor,
        target.name,
        filters=query.filters or None,
        search=query.q,
        sort=query.sort,
        page=query.page,
        page_size=query.page_size,
    )
    body = {
        "items": [record_json(target, r) for r in page.records],
        "page": page.page,
        "page_size": page.page_size,
        "total": page.total,
        "total_exact": page.total_exact,
        "has_next": page.has_next,
    }
    return json_response(body)


@api_view
def item_view(portal: RuntimePortal, actor: Actor, entity: str, id: int) -> Response:
    """`GET` one record, `PATCH` changes it, `DELETE` removes it."""
    target = readable_entity(portal, actor, entity)
    store = portal.store
    if request.method == "PATCH":
        require_csrf()
        changes = request_json()
        expected = expected_version(request.headers.get("If-Match"), changes)
        refuse_system_fields(changes)
        record = store.update(actor, target.name, id, changes, expected_version=expected)
        return record_response(target, record)
    if request.method == "DELETE":
        require_csrf()
        expected = if_match_version(request.headers.get("If-Match"))
        store.delete(actor, target.name, id, expected_version=expected)
        response = Response(status=204)
        del response.headers["Content-Type"]
        return response
    return record_response(target, store.get(actor, target.name, id))


@api_view
def transitions_view(portal: RuntimePortal, actor: Actor, entity: str, id: int) -> Response:
    """`GET /<entity>/<id>/transitions`: every transition of the record's workflows, whether
    the actor may take it now and why not, with its comment mode, required fields and
    approval progress."""
    target = readable_entity(portal, actor, entity)
    items = workflow.available(portal.store, actor, target.name, id)
    record = portal.store.get(actor, target.name, id)
    states = {
        wf.name: record[wf.field]
        for wf in portal.compiled.model.workflow_for(target.name)
        if wf.field in record
    }
    body = {
        "record": {"id": record.id, "version": record.version, "states": states},
        "transitions": [transition_json(item) for item in items],
    }
    response = json_response(body)
    response.set_etag(str(record.version))
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@api_view
def transition_view(
    portal: RuntimePortal, actor: Actor, entity: str, id: int, name: str
) -> Response:
    """`POST /<entity>/<id>/transitions/<name>` with `{version, comment, values}`: take (or
    approve) the transition. 200 with `applied` (False: an approval short of the quorum),
    the approval progress and the record; 403 with the reason when it is not available."""
    target = readable_entity(portal, actor, entity)
    require_csrf()
    body = request_json()
    expected = expected_version(request.headers.get("If-Match"), body)
    comment, values = transition_input(body)
    refuse_system_fields(values)
    try:
        outcome = workflow.take(
            portal.store, actor, target.name, id, name, expected_version=expected,
            values=values, comment=comment,
        )  # fmt: skip
    except workflow.TransitionUnavailable as exc:
        if not actor.is_authenticated:
            raise unauthorized() from exc
        item = exc.availability
        raise ApiProblem(
            403,
            "transition-unavailable",
            item.reason,
            reason=item.code,
            details=reason_params(item),
        ) from exc
    result: dict[str, Any] = {
        "transition": name,
        "applied": outcome.applied,
        "approvals": progress_json(outcome.progress),
        "record": record_json(target, outcome.record) if outcome.record is not None else None,
    }
    response = json_response(result)
    if outcome.record is not None:
        response.set_etag(str(outcome.record.version))
    return response


VIEWS: dict[str, Callable[..., Any]] = {
    "api:openapi": openapi_view,
    "api:collection": collection_view,
    "api:item": item_view,
    "api:transitions": transitions_view,
    "api:transition": transition_view,
}


# -- create -----------------------------------------------------------------------------
def create(portal: RuntimePortal, actor: Actor, entity: Entity) -> Response:
    """POST: insert through the store, at most once per Idempotency-Key."""
    require_csrf()
    values = request_json()
    refuse_system_fields(values)
    key = idempotency_key(request.headers.get("Idempotency-Key"))
    if key is None:
        record = portal.store.insert(actor, entity.name, values)
        return created_response(entity, record_json(entity, record), record.id)
    scope = idempotency.scope_for(actor.id, csrf_secret())
    fingerprint = idempotency.fingerprint("POST", f"/{entity.name}", values)
    try:
        with portal.store.write() as conn:
            stored = idempotency.claim(conn, portal.slug, scope, key, fingerprint)
            if stored is not None:
                return replay(stored)
            record = portal.store.insert(actor, entity.name, values, conn=conn)
            response = created_response(entity, record_json(entity, record), record.id)
            idempotency.complete(
                conn,
                portal.slug,
                scope,
                key,
                idempotency.StoredResponse(
                    response.status_code, response.get_data(as_text=True), response.location
                ),
            )
            return response
    except idempotency.KeyReused as exc:
        raise ApiProblem(
            422, "idempotency-key-reused", "this Idempotency-Key was used for another request"
        ) from exc
    except idempotency.KeyInUse as exc:
        raise ApiProblem(
            409, "idempotency-key-in-use", "a request with this Idempotency-Key is in progress"
        ) from exc


def replay(stored: idempotency.StoredResponse) -> Response:
    """The stored response of an idempotent request, marked as a replay."""
    response = Response(stored.body, status=stored.status, mimetype=JSON_MIMETYPE)
    if stored.location:
        response.headers["Location"] = stored.location
    version = json.loads(stored.body).get("version") if stored.body else None
    if isinstance(version, int):
        response.set_etag(str(version))
    response.headers["Idempotent-Replayed"] = "true"
    return response


# -- helpers ----------------------------------------------------------------------------
def readable_entity(portal: RuntimePortal, actor: Actor, name: str) -> Entity:
    """The entity when the actor may read some of it; else 404 (401 for anonymous actors)."""
    entity = portal.compiled.model.entities.get(name)
    if entity is None:
        raise not_found()
    if not portal.compiled.policy.grants_for(actor, entity.name, "read"):
        raise not_found() if actor.is_authenticated else unauthorized()
    return entity


def require_csrf() -> None:
    """State changes need the session's token in X-CSRF-Token (ASVS 3.5)."""
    if not csrf_valid(request):
        raise ApiProblem(403, "csrf", f"missing or invalid {CSRF_HEADER} header")


def request_json() -> dict[str, Any]:
    """The request's JSON object (415 for other content types, 400 when malformed)."""
    return json_body(
        request.mimetype,
        request.mimetype_params.get("charset"),
        request.get_data(cache=True),
    )


def refuse_system_fields(values: dict[str, Any]) -> None:
    """422 for system columns in a body (ASVS 15.3.3): the store owns them."""
    errors = {
        name: [{"code": "not-writable", "message": "you may not change this field"}]
        for name in SYSTEM_COLUMNS
        if name in values
    }
    if errors:
        raise ApiProblem(422, "invalid", "the input was refused", errors=errors)


def record_json(entity: Entity, record: Record) -> dict[str, Any]:
    """A record as JSON: `id`, the readable fields (`to_json` per type), system columns."""
    out: dict[str, Any] = {"id": record.id}
    for name, field in entity.fields.items():
        if name in record:
            out[name] = field.kind.to_json(field, record[name])
    for name in SYSTEM_COLUMNS:
        if name != "id":
            out[name] = _system_json(record.get(name))
    return out


def _system_json(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    return value


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON response from Flask's JSON provider."""
    return Response(current_app.json.dumps(body), status=status, mimetype=JSON_MIMETYPE)


def record_response(entity: Entity, record: Record) -> Response:
    """200 with the record and its version as ETag."""
    response = json_response(record_json(entity, record))
    response.set_etag(str(record.version))
    return response


def created_response(entity: Entity, body: dict[str, Any], record_id: int) -> Response:
    """201 with the new record, its Location and ETag."""
    response = json_response(body, 201)
    response.headers["Location"] = portal_url(f"{API_PREFIX}/{entity.name}/{record_id}")
    response.set_etag(str(body["version"]))
    return response

"""The REST API's endpoints `/<portal>/api/v1/<entity>[/<id>]` over the same record store and
policy: error handling, OPTIONS, the reads; the writes are in `writes`.

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
- stale version (or If-Match and a body `version` that disagree) → 409; bad sort/filter
  names → 400; field errors → 422 with `errors`;
- POST with `Idempotency-Key`: a replay returns the first response (`Idempotent-Replayed:
  true`), the key with another body → 422, a concurrent duplicate → 409;
- workflows: `GET /<entity>/<id>/transitions` lists the record's transitions with whether the
  actor may take each now and why not; `POST /<entity>/<id>/transitions/<name>` with
  `{version, comment, values}` takes one (or records an approval towards its quorum) — an
  unknown transition → 404, an unavailable one → 403 `transition-unavailable` with the
  reason, a stale version → 409, a missing comment or required field → 422;
- attachments: `/<entity>/<id>/attachments[/…]` (entities with `attachments:`), see
  `attachments`;
- copying: `POST /<entity>/<id>/copy` (entities with `copy:`) copies the record and its
  children → 201 with the copy; 404 without `copy:` or for a record the actor cannot read;
- online payments: `POST /<entity>/<id>/pay`, `GET …/payments` and
  `POST …/payments/<payment>/refunds` (entities with `payable:`), see `payments`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from portalis.engine.data.errors import BadQuery, Forbidden, NotFound, StaleRecord, ValidationFailed
from portalis.engine.data.permissions import Actor
from portalis.engine.definition.fieldtypes.refs import ID_MAX
from portalis.engine.definition.model import Entity
from portalis.engine.flow import workflow

from ..problem import ApiProblem, from_engine_error, not_found, problem_response
from ..security import CSRF_HEADER, csrf_token
from ..urls import portal_url
from . import attachments, payments
from .inputs import JSON_MIMETYPE, list_query
from .openapi import openapi_document
from .paths import allowed_methods
from .records import (
    API_PREFIX,
    api_schemas,
    json_response,
    no_content,
    readable_entity,
    record_response,
)
from .workflow import transition_json
from .writes import copy, create, delete, take_transition, update

if TYPE_CHECKING:
    from ..registry import RuntimePortal

log = logging.getLogger("portalis.runtime.api")

#: Record-store errors every view answers as problem+json.
_STORE_ERRORS = (NotFound, Forbidden, StaleRecord, BadQuery, ValidationFailed)

ApiView = Callable[..., Response]


def api_view(view: ApiView) -> ApiView:
    """Render `ApiProblem` and record-store errors as problem+json; hand out CSRF tokens."""

    @functools.wraps(view)
    def wrapper(portal: RuntimePortal, actor: Actor, **args: Any) -> Response:
        try:
            if not 0 < args.get("id", 1) <= ID_MAX:
                raise not_found()  # no record has such an id (and the database has no such int)
            if request.method == "OPTIONS":
                response = options(portal, actor, **args)
            else:
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


def options(portal: RuntimePortal, actor: Actor, **args: Any) -> Response:
    """`OPTIONS`: 204 with `Allow` naming the methods the actor's document lists for the path
    (404/401 where a GET would give them)."""
    endpoint = str(g.get("endpoint", ""))
    entity = str(args.get("entity", ""))
    if endpoint == "api:openapi":
        methods = ["GET", "HEAD", "OPTIONS"]
    else:
        target = readable_entity(portal, actor, entity)
        if endpoint == "api:transition" and args.get("name") not in transition_names(
            portal, target
        ):
            raise not_found()
        if endpoint.startswith("api:attachment") and target.attachments is None:
            raise not_found()
        if endpoint.startswith("api:pay") and target.payable is None:
            raise not_found()
        methods = allowed_methods(api_schemas(portal), actor, target.name, endpoint)
    response = no_content()
    response.headers["Allow"] = ", ".join(methods)
    return response


def transition_names(portal: RuntimePortal, entity: Entity) -> set[str]:
    """The names of the transitions of the entity's workflows."""
    return {
        tr.name
        for wf in portal.compiled.model.workflow_for(entity.name)
        for tr in wf.transitions.values()
    }


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
            api_schemas(portal), actor, base_url=base_url, cookie_name=cookie,
            version=portal.version,
        )  # fmt: skip
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
    schemas = api_schemas(portal)
    readable = schemas.readable(actor, target.name)
    body = {
        "items": schemas[target.name].dump(readable, page.records),
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
    if request.method == "PATCH":
        return update(portal, actor, target, id)
    if request.method == "DELETE":
        return delete(portal, actor, target, id)
    return record_response(portal, actor, target, portal.store.get(actor, target.name, id))


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
    """`POST /<entity>/<id>/transitions/<name>`: take (or approve) the transition."""
    target = readable_entity(portal, actor, entity)
    return take_transition(portal, actor, target, id, name)


@api_view
def copy_view(portal: RuntimePortal, actor: Actor, entity: str, id: int) -> Response:
    """`POST /<entity>/<id>/copy`: copy the record with its children."""
    target = readable_entity(portal, actor, entity)
    return copy(portal, actor, target, id)


VIEWS: dict[str, Callable[..., Any]] = {
    "api:attachments": api_view(attachments.attachments),
    "api:attachment": api_view(attachments.attachment),
    "api:attachment_versions": api_view(attachments.versions),
    "api:attachment_content": api_view(attachments.content),
    "api:attachment_version_content": api_view(attachments.content),
    "api:openapi": openapi_view,
    "api:collection": collection_view,
    "api:item": item_view,
    "api:transitions": transitions_view,
    "api:transition": transition_view,
    "api:copy": copy_view,
    "api:pay": api_view(payments.pay),
    "api:payments": api_view(payments.payment_list),
    "api:payment_refunds": api_view(payments.refunds),
}

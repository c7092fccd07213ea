"""The API's writes: create (at most once per `Idempotency-Key`), change, delete, take a
transition and copy a record — each through the record store with the request's actor.

What a write checks before the store is asked: the session's CSRF token (403), a JSON object
body (415/400), the expected version from `If-Match` or the body (400/409/422), and that
every member is a field the actor may write (422: mass assignment is refused, never
silently dropped). The store then applies the policy, the field rules and the version check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Response, request

from portalis.engine.data.permissions import Actor
from portalis.engine.definition.model import SYSTEM_COLUMNS, Entity
from portalis.engine.flow import copying, workflow

from ..problem import ApiProblem, not_found, unauthorized
from ..security import CSRF_HEADER, csrf_secret, csrf_valid
from . import idempotency
from .inputs import JSON_MIMETYPE, expected_version, idempotency_key, if_match_version, json_body
from .records import (
    api_schemas,
    created_response,
    json_response,
    no_content,
    record_json,
    record_response,
)
from .workflow import progress_json, reason_params, transition_input

if TYPE_CHECKING:
    from ..registry import RuntimePortal


def create(portal: RuntimePortal, actor: Actor, entity: Entity) -> Response:
    """POST: insert through the store, at most once per Idempotency-Key."""
    require_csrf()
    values = writable_values(portal, actor, entity, "create", request_json())

    def insert(conn: sa.Connection | None) -> Response:
        record = portal.store.insert(actor, entity.name, values, conn=conn)
        return created_response(entity, record_json(portal, actor, entity, record), record.id)

    return at_most_once(portal, actor, f"/{entity.name}", values, insert)


def at_most_once(
    portal: RuntimePortal,
    actor: Actor,
    path: str,
    body: Any,
    write: Callable[[sa.Connection | None], Response],
) -> Response:
    """Run `write` (on a connection of its own without an Idempotency-Key; else inside the
    transaction that claims the key, whose first response a replay returns): a POST to
    `path` with `body` happens at most once per key. 422 for a key used with another request,
    409 while the first one is still running."""
    keyed = _request_key(actor, path, body)
    if keyed is None:
        return write(None)
    scope, key, fingerprint = keyed
    with _key_problems(), portal.store.write() as conn:
        stored = idempotency.claim(conn, portal.slug, scope, key, fingerprint)
        if stored is not None:
            return replay(stored)
        response = write(conn)
        idempotency.complete(conn, portal.slug, scope, key, _stored(response))
        return response


def at_most_once_apart(
    portal: RuntimePortal,
    actor: Actor,
    path: str,
    body: Any,
    work: Callable[[], Response],
) -> Response:
    """`at_most_once` for work that runs its own transactions and calls a network between
    them (a payment or a refund at a provider), which no transaction may be held across: the
    key is claimed and committed first, then `work` runs and its response is stored. A
    failure frees the key, so a retry runs again; a crash in between leaves the key claimed
    until it expires, and a retry gets 409 — never a second payment."""
    keyed = _request_key(actor, path, body)
    if keyed is None:
        return work()
    scope, key, fingerprint = keyed
    with _key_problems(), portal.store.write() as conn:
        stored = idempotency.claim(conn, portal.slug, scope, key, fingerprint)
    if stored is not None:
        return replay(stored)
    try:
        response = work()
    except BaseException:
        with portal.store.write() as conn:
            idempotency.release(conn, portal.slug, scope, key)
        raise
    with portal.store.write() as conn:
        idempotency.complete(conn, portal.slug, scope, key, _stored(response))
    return response


def _request_key(actor: Actor, path: str, body: Any) -> tuple[str, str, str] | None:
    """(scope, key, fingerprint) of a POST to `path` with `body`; None without a key."""
    key = idempotency_key(request.headers.get("Idempotency-Key"))
    if key is None:
        return None
    scope = idempotency.scope_for(actor.id, csrf_secret())
    return scope, key, idempotency.fingerprint("POST", path, body)


def _stored(response: Response) -> idempotency.StoredResponse:
    return idempotency.StoredResponse(
        response.status_code, response.get_data(as_text=True), response.location
    )


@contextmanager
def _key_problems() -> Iterator[None]:
    """A reused key → 422, a key in use → 409."""
    try:
        yield
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


def update(portal: RuntimePortal, actor: Actor, entity: Entity, record_id: int) -> Response:
    """PATCH: change the fields the body names (version from If-Match or the body)."""
    require_csrf()
    changes = request_json()
    expected = expected_version(request.headers.get("If-Match"), changes)
    changes = writable_values(portal, actor, entity, "update", changes, record_id)
    record = portal.store.update(actor, entity.name, record_id, changes, expected_version=expected)
    return record_response(portal, actor, entity, record)


def delete(portal: RuntimePortal, actor: Actor, entity: Entity, record_id: int) -> Response:
    """DELETE: 204 (version from If-Match, if given)."""
    require_csrf()
    expected = if_match_version(request.headers.get("If-Match"))
    portal.store.delete(actor, entity.name, record_id, expected_version=expected)
    return no_content()


def take_transition(
    portal: RuntimePortal, actor: Actor, entity: Entity, record_id: int, name: str
) -> Response:
    """POST a transition with `{version, comment, values}`: take (or approve) it. 200 with
    `applied` (False: an approval short of the quorum), the approval progress and the
    record; 403 with the reason when it is not available."""
    require_csrf()
    body = request_json()
    expected = expected_version(request.headers.get("If-Match"), body)
    comment, values = transition_input(body)
    refuse_system_fields(values)
    try:
        outcome = workflow.take(
            portal.store, actor, entity.name, record_id, name, expected_version=expected,
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
        "record": (
            None if outcome.record is None else record_json(portal, actor, entity, outcome.record)
        ),
    }
    response = json_response(result)
    if outcome.record is not None:
        response.set_etag(str(outcome.record.version))
    return response


def copy(portal: RuntimePortal, actor: Actor, entity: Entity, record_id: int) -> Response:
    """POST `/<entity>/<id>/copy` (no body): copy the record and its children with the
    actor's rights, at most once per Idempotency-Key; 201 with the copy. 404 for an entity without `copy:` or a record the
    actor cannot read, 403 without the create grants, 422 when a copied record is refused."""
    require_csrf()
    if entity.copy is None:
        raise not_found()

    def make_copy(conn: sa.Connection | None) -> Response:
        record = copying.copy_record(portal.store, actor, entity.name, record_id, conn=conn)
        return created_response(entity, record_json(portal, actor, entity, record), record.id)

    return at_most_once(portal, actor, f"/{entity.name}/{record_id}/copy", {}, make_copy)


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


def writable_values(
    portal: RuntimePortal,
    actor: Actor,
    entity: Entity,
    action: str,
    values: dict[str, Any],
    record_id: int | None = None,
) -> dict[str, Any]:
    """`values` loaded through the entity's schema restricted to the fields the actor may
    write (ASVS 15.3.3: mass assignment is refused with 422, never silently dropped).

    The answers keep the record store's order: system columns first, then no grant (403),
    a record the actor cannot see (404) or may not change (403), then the refused members.
    """
    refuse_system_fields(values)
    schemas = api_schemas(portal)
    if not portal.compiled.policy.grants_for(actor, entity.name, action):
        return values  # the store refuses the whole request (403, or 401 for anonymous)
    try:
        return schemas[entity.name].load_values(
            schemas.writable(actor, entity.name, action), values
        )
    except ApiProblem:
        if record_id is not None:
            portal.store.get(actor, entity.name, record_id, action=action)
        raise

"""The REST API `/<portal>/api/v1/<entity>[/<id>]`: one concept per module.

- `views`: the endpoints (`VIEWS`, classified as `api:` endpoints by the dispatcher), their
  error handling, OPTIONS and the reads;
- `writes`: create, change, delete and transitions, with their checks before the store;
- `records`: what views and writes share (the entity named, records as JSON, responses);
- `inputs`: reading requests strictly (JSON bodies, list parameters, If-Match, Idempotency-Key);
- `fields`: the marshmallow field of each field type (a registry plugins can add to);
- `schemas`: the marshmallow schemas of each entity, built once per published version, with the
  actor's field mask applied per request;
- `openapi` and `paths`: the OpenAPI document generated from those schemas with apispec;
- `workflow`: transition lists and transition requests as JSON;
- `idempotency`: `Idempotency-Key` storage (one request, one effect);
- `payments`, `payment_json` and `payment_paths`: online payments of payable records (start,
  list, refund), their bodies and JSON, and their OpenAPI paths;
- `bulk` and `bulk_paths`: one action on many records (`POST /<entity>/bulk`; the
  dispatcher registers its view, which uses the pages' bulk runner).
"""

from __future__ import annotations

from .views import VIEWS

__all__ = ["VIEWS"]

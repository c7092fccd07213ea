"""Reading REST API requests: JSON bodies, list parameters, If-Match and Idempotency-Key.

Everything here is strict on purpose: an unexpected content type is 415 (ASVS 4.1), a body
that is not one well-formed UTF-8 JSON object is 400 (duplicate keys and NaN included, so no
two parsers can read one body differently), unknown or repeated list parameters are 400.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from werkzeug.datastructures import MultiDict

from portalis.engine.data.records import MAX_PAGE_SIZE

from ..problem import ApiProblem

JSON_MIMETYPE: Final = "application/json"
#: Largest JSON body the API reads (files go through uploads, never inline).
MAX_JSON_BYTES: Final = 1024 * 1024
#: Query parameters of a list that are not field filters (`lang` picks the locale).
RESERVED_PARAMS: Final = frozenset({"page", "page_size", "sort", "q", "lang"})
DEFAULT_PAGE_SIZE: Final = 25
MAX_PAGE: Final = 100_000
MAX_SEARCH_CHARS: Final = 200
#: Largest `page_size` a request may give (nine digits; larger pages are cut to the store's).
MAX_PAGE_SIZE_PARAM: Final = 999_999_999
#: The `If-Match` values the API reads, as the OpenAPI document states them (ECMA regex).
IF_MATCH_PATTERN: Final = r'^(\*|(W/)?"[0-9]{1,18}")$'
#: An `Idempotency-Key`: 1-255 visible ASCII characters but the double quote.
IDEMPOTENCY_KEY_PATTERN: Final = r"^[!#-~]{1,255}$"
_ETAG: Final = re.compile(r'(?:W/)?"?([0-9]{1,18})"?')
_SORT: Final = re.compile(r"-?[A-Za-z_][A-Za-z0-9_]{0,62}")
_IDEMPOTENCY_KEY: Final = re.compile(r"[\x21\x23-\x7e]{1,255}")


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The parameters of `GET /api/v1/<entity>`."""

    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    sort: str | None = None
    q: str | None = None
    filters: Mapping[str, str] = field(default_factory=dict)


def bad_request(detail: str, code: str = "bad-request") -> ApiProblem:
    """400 with a stable code."""
    return ApiProblem(400, code, detail)


def json_body(mimetype: str, charset: str | None, data: bytes) -> dict[str, Any]:
    """The request body as a JSON object; 415 for other content types, 400 when malformed."""
    if mimetype != JSON_MIMETYPE:
        raise ApiProblem(
            415,
            "unsupported-media-type",
            f"send the body as {JSON_MIMETYPE}",
            headers={"Accept-Post": JSON_MIMETYPE, "Accept-Patch": JSON_MIMETYPE},
        )
    if charset is not None and charset.lower().replace("-", "") != "utf8":
        raise ApiProblem(415, "unsupported-media-type", "JSON bodies must be UTF-8")
    if len(data) > MAX_JSON_BYTES:
        raise ApiProblem(413, "too-large", f"JSON bodies are limited to {MAX_JSON_BYTES} bytes")
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise bad_request(f"malformed JSON: {_short(exc)}", "malformed-json") from exc
    if not isinstance(value, dict):
        raise bad_request("the body must be a JSON object", "malformed-json")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _short(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def if_match_version(header: str | None) -> int | None:
    """The version an `If-Match: "<version>"` header expects (None for absent or `*`)."""
    if header is None or header.strip() in ("", "*"):
        return None
    match = _ETAG.fullmatch(header.strip())
    if match is None:
        raise bad_request('If-Match must be one entity tag: "<version>"', "bad-if-match")
    return int(match.group(1))


def expected_version(header: str | None, body: dict[str, Any]) -> int | None:
    """The expected version from If-Match and/or the body's `version` (removed from `body`).

    The version is an integer as JSON Schema counts them (`3.0` is 3). Both may be given;
    when they disagree the record cannot be at both versions, so the answer is the one a
    stale version gets (409), whatever the record's version is.
    """
    from_header = if_match_version(header)
    if "version" not in body:
        return from_header
    raw = body.pop("version")
    if raw is None:
        return from_header
    if isinstance(raw, float) and raw.is_integer():  # False for inf and nan
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 2**63:
        raise ApiProblem(
            422,
            "invalid",
            "the input was refused",
            errors={"version": [{"code": "type", "message": "must be a positive integer"}]},
        )
    if from_header is not None and from_header != raw:
        raise ApiProblem(409, "stale", "If-Match and the body's version disagree")
    return raw


def list_query(args: MultiDict[str, str]) -> ListQuery:
    """Paging, sort, search and filters of a list request (each parameter at most once)."""
    for name in args:
        if len(args.getlist(name)) > 1:
            raise bad_request(f"parameter {name!r} given more than once", "bad-query")
    page = _int_param(args, "page", 1, MAX_PAGE)
    # larger pages are cut to the store's maximum; the response says which size was used
    page_size = min(_int_param(args, "page_size", DEFAULT_PAGE_SIZE, None), MAX_PAGE_SIZE)
    q = args.get("q") or None
    if q is not None and len(q) > MAX_SEARCH_CHARS:
        raise bad_request(f"q is limited to {MAX_SEARCH_CHARS} characters", "bad-query")
    sort = args.get("sort") or None
    if sort is not None and _SORT.fullmatch(sort) is None:
        # the store checks the name against the model; this refuses anything but `[-]name`
        raise bad_request(f"cannot sort by {sort[:64]!r}", "bad-query")
    filters = {k: v for k, v in args.items() if k not in RESERVED_PARAMS}
    return ListQuery(page, page_size, sort, q, filters)


def _int_param(args: MultiDict[str, str], name: str, default: int, high: int | None) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < 1:
        raise bad_request(f"{name} must be a positive integer", "bad-query")
    value = int(raw)
    if high is not None and value > high:
        raise bad_request(f"{name} must be at most {high}", "bad-query")
    return value


def idempotency_key(header: str | None) -> str | None:
    """The `Idempotency-Key` (quotes of the structured-field form removed), if any."""
    if header is None:
        return None
    key = header.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if _IDEMPOTENCY_KEY.fullmatch(key) is None:
        raise bad_request(
            "Idempotency-Key must be 1-255 visible ASCII characters", "bad-idempotency-key"
        )
    return key

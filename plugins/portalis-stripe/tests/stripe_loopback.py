"""A loopback Stripe: the subset of Stripe's REST API the provider uses, on 127.0.0.1.

A real `http.server` in a thread, spoken to by the real `stripe` library over HTTP:

- `POST /v1/checkout/sessions`, `GET /v1/checkout/sessions[/<id>]`, `POST /v1/refunds`,
  `GET /v1/refunds/<id>`; bodies and query strings form-encoded as the library sends them
  (`line_items[0][price_data][currency]=eur`), decoded into nested dicts and lists of strings;
- `Authorization: Bearer <API_KEY>` required (401 otherwise, as Stripe answers);
- `Idempotency-Key`: a POST repeated with the same key and parameters is answered with the
  first response (`Idempotent-Replayed: true`) and executes nothing; with other parameters
  it is refused (400 `idempotency_error`). Like Stripe, only requests that began executing
  are remembered (a request refused by validation may be sent again with the same key);
- objects shaped like Stripe's (`checkout.session`, `payment_intent`, `charge`, `refund`,
  `list` with `has_more` and `starting_after` paging, `expand`), errors as
  `{"error": {"type", "code", "message", "param"}}` with Stripe's status codes;
- what happens on Stripe's side after the redirect is played by `pay`, `settle` and
  `expire`, and `event`/`sign` make webhook events signed as Stripe signs them:
  `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`.

`fail_next` scripts failures (a declined card, a rate limit) for the next requests; every
request is recorded in `requests` as it arrived.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

HOST = "127.0.0.1"
API_KEY = "sk_test_51PortalisLoopback0123456789"
WEBHOOK_SECRET = "whsec_portalis_loopback_0123456789abcdef"
API_VERSION = "2026-10-28.endive"
LOCALES = frozenset(
    "auto bg cs da de el en en-GB es es-419 et fi fil fr fr-CA hi-IN hr hu id it ja ko lt lv "
    "ms mt nb nl pl pt pt-BR ro ru sk sl sv th tr vi zh zh-HK zh-TW".split()
)
METHODS = frozenset(
    "card sepa_debit ideal bancontact eps p24 klarna paypal link us_bank_account "
    "bacs_debit sofort giropay".split()
)
#: Debits whose refunds are not immediate (Stripe answers `pending`).
SLOW_REFUNDS = frozenset({"sepa_debit", "us_bank_account", "bacs_debit"})
#: The smallest charge per currency, in minor units (Stripe's table, the currencies tested).
MINIMUM = {"eur": 50, "usd": 50, "gbp": 30, "chf": 50, "jpy": 50, "kwd": 100}
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
Json = dict[str, Any]


class ApiError(Exception):
    """An error answer: Stripe's status code and error object."""

    def __init__(
        self, status: int, message: str, *, kind: str = "invalid_request_error",
        code: str | None = None, param: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.status = status
        self.body: Json = {"error": {"type": kind, "message": message}}
        if code is not None:
            self.body["error"]["code"] = code
        if param is not None:
            self.body["error"]["param"] = param


def missing(param: str) -> ApiError:
    return ApiError(400, f"Missing required param: {param}.", code="parameter_missing", param=param)


def invalid(param: str, message: str, code: str = "parameter_invalid") -> ApiError:
    return ApiError(400, message, code=code, param=param)


@dataclass(frozen=True)
class Failure:
    """A scripted error answer (or, with `delay`, a slow one)."""

    status: int
    kind: str = "api_error"
    code: str | None = None
    message: str = "An error occurred."
    #: seconds before answering (a hanging Stripe)
    delay: float = 0.0
    #: extra response headers (`Stripe-Should-Retry`)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    """One request as it arrived: its decoded parameters and lower-case headers."""

    method: str
    path: str
    params: Json
    headers: dict[str, str]
    raw: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def decode_form(text: str) -> Json:
    """Stripe's form encoding (`a[b][0][c]=v`) as nested dicts and lists of strings."""
    root: Json = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        head, _, rest = key.partition("[")
        parts = [head, *(rest[:-1].split("][") if rest else [])]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _lists(v) for k, v in node.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def integer(value: Any, param: str) -> int:
    if not isinstance(value, str) or not value.lstrip("-").isdigit():
        raise invalid(param, f"Invalid integer: {value}", "parameter_invalid_integer")
    return int(value)


@dataclass
class StripeLoopback:
    """The served API's state: objects by id, requests received, scripted failures."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    sessions: dict[str, Json] = field(default_factory=dict)
    intents: dict[str, Json] = field(default_factory=dict)
    charges: dict[str, Json] = field(default_factory=dict)
    refunds: dict[str, Json] = field(default_factory=dict)
    #: the session id → its `payment_intent_data` (kept for the payment intent made at pay)
    intent_data: dict[str, Json] = field(default_factory=dict)
    #: Unix seconds "now" on this Stripe (tests move it to make old sessions)
    clock: Callable[[], int] = field(default=lambda: int(time.time()))
    _failures: deque[Failure] = field(default_factory=deque)
    _idempotent: dict[str, tuple[str, int, bytes]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _serial: Iterator[int] = field(default_factory=itertools.count)

    @property
    def url(self) -> str:
        """The API base to give the provider (`api_base`)."""
        return f"http://{HOST}:{self.port}"

    def fail_next(self, *failures: Failure) -> None:
        """Answer the next requests with `failures`, in order (then normally again)."""
        with self._lock:
            self._failures.extend(failures)

    def to(self, method: str, path: str) -> list[Received]:
        """The requests received for `method` and `path` (query aside), oldest first."""
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._serial):04d}{secrets.token_hex(8)}"

    # -- HTTP ---------------------------------------------------------------------------
    def handle(
        self, method: str, target: str, headers: dict[str, str], body: str
    ) -> tuple[int, Json, dict[str, str]]:
        """(status, JSON body, extra headers) for one request."""
        parts = urlsplit(target)
        params = decode_form(body if method == "POST" else parts.query)
        with self._lock:
            self.requests.append(Received(method, parts.path, params, headers, body))
        given = headers.get("authorization", "")
        if not given:
            return 401, ApiError(401, "You did not provide an API key.").body, {}
        if given != f"Bearer {API_KEY}":
            masked = given.removeprefix("Bearer ")[:8] + "*" * 8 + given[-4:]
            return 401, ApiError(401, f"Invalid API Key provided: {masked}").body, {}
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
        if failure is not None:
            time.sleep(failure.delay)
            error = ApiError(failure.status, failure.message, kind=failure.kind, code=failure.code)
            return error.status, error.body, dict(failure.headers)
        key = headers.get("idempotency-key") if method == "POST" else None
        fingerprint = f"{parts.path}?{json.dumps(params, sort_keys=True)}"
        with self._lock:  # one request at a time: like Stripe, a key is never run twice
            if key is not None and key in self._idempotent:
                seen, status, first = self._idempotent[key]
                if seen != fingerprint:
                    message = (
                        "Keys for idempotent requests can only be used with the same parameters "
                        f"they were first used with. Try using a key other than '{key}' if you "
                        "meant to execute a different request."
                    )
                    return 400, ApiError(400, message, kind="idempotency_error").body, {}
                return status, json.loads(first), {"Idempotent-Replayed": "true"}
            try:
                status, answer = 200, self.route(method, parts.path, params)
            except ApiError as exc:
                if exc.status == 400 or exc.status == 404:
                    return exc.status, exc.body, {}  # refused before executing: not kept
                status, answer = exc.status, exc.body
            if key is not None:
                self._idempotent[key] = (fingerprint, status, json.dumps(answer).encode())
        return status, answer, {}

    def route(self, method: str, path: str, params: Json) -> Json:
        if path == "/v1/checkout/sessions" and method == "POST":
            return self.create_session(params)
        if path == "/v1/checkout/sessions" and method == "GET":
            return self.list_sessions(params)
        if path.startswith("/v1/checkout/sessions/") and method == "GET":
            return self._found(self.sessions, path.rsplit("/", 1)[1], "checkout.session")
        if path == "/v1/refunds" and method == "POST":
            return self.create_refund(params)
        if path.startswith("/v1/refunds/") and method == "GET":
            return self._found(self.refunds, path.rsplit("/", 1)[1], "refund")
        raise ApiError(404, f"Unrecognized request URL ({method}: {path}).")

    @staticmethod
    def _found(table: Mapping[str, Json], key: str, kind: str) -> Json:
        if key not in table:
            raise ApiError(404, f"No such {kind}: '{key}'", code="resource_missing", param="id")
        return json.loads(json.dumps(table[key]))

    # -- Checkout Sessions ----------------------------------------------------------------
    def create_session(self, params: Json) -> Json:
        """`POST /v1/checkout/sessions` (payment mode, inline price_data)."""
        if "mode" not in params:
            raise missing("mode")
        if params["mode"] != "payment":
            raise invalid("mode", "Only payment mode is served here.")
        items = params.get("line_items")
        if not isinstance(items, list) or not items:
            raise missing("line_items")
        total, currency = 0, None
        for i, item in enumerate(items):
            where = f"line_items[{i}]"
            price = item.get("price_data")
            if not isinstance(price, dict):
                raise missing(f"{where}[price_data]")
            code = price.get("currency", "")
            if len(code) != 3 or not code.isalpha() or not code.islower():
                raise invalid(f"{where}[price_data][currency]", f"Invalid currency: {code}")
            if currency not in (None, code):
                raise invalid("line_items", "All line items must have the same currency.")
            currency = code
            unit = integer(price.get("unit_amount"), f"{where}[price_data][unit_amount]")
            if code in THREE_DECIMAL and unit % 10:
                raise invalid(
                    f"{where}[price_data][unit_amount]",
                    "Amounts in three-decimal currencies must end in 0.",
                    "invalid_amount",
                )
            name = (price.get("product_data") or {}).get("name")
            if not name:
                raise missing(f"{where}[price_data][product_data][name]")
            total += unit * integer(item.get("quantity", "1"), f"{where}[quantity]")
        assert currency is not None
        if total < MINIMUM.get(currency, 1):
            raise invalid(
                "line_items",
                f"The Checkout Session's total amount due must add up to at least "
                f"{MINIMUM[currency]} {currency} (minor units).",
                "amount_too_small",
            )
        for key in ("success_url", "cancel_url"):
            if key in params and not str(params[key]).startswith(("http://", "https://")):
                raise invalid(key, "Not a valid URL", "url_invalid")
        locale = params.get("locale")
        if locale is not None and locale not in LOCALES:
            raise invalid("locale", f"Invalid locale: {locale}")
        email = params.get("customer_email")
        if email is not None and "@" not in email:
            raise invalid("customer_email", "Invalid email address: " + email, "email_invalid")
        # without a choice, the account's enabled methods (here: cards and Link)
        methods = params.get("payment_method_types") or ["card", "link"]
        for i, method in enumerate(methods):
            if method not in METHODS:
                raise invalid(
                    f"payment_method_types[{i}]", f"Invalid payment_method_types: {method}"
                )
        metadata = params.get("metadata") or {}
        for key, value in metadata.items():
            if len(key) > 40 or len(value) > 500:
                raise invalid(f"metadata[{key}]", "Metadata keys/values are too long.")
        now = self.clock()
        session_id = self.new_id("cs")
        session: Json = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": currency,
            "customer": None,
            "customer_email": email,
            "expires_at": int(params.get("expires_at") or now + 86400),
            "livemode": False,
            "locale": locale,
            "metadata": metadata,
            "mode": "payment",
            "payment_intent": None,
            "payment_method_types": methods,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params.get("success_url"),
            "ui_mode": "hosted",
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }
        self.sessions[session_id] = session
        self.intent_data[session_id] = params.get("payment_intent_data") or {}
        return json.loads(json.dumps(session))

    def list_sessions(self, params: Json) -> Json:
        """`GET /v1/checkout/sessions`: newest first, `created` filters, paging, `expand`."""
        limit = integer(params.get("limit", "10"), "limit")
        if not 1 <= limit <= 100:
            raise invalid("limit", "This value must be between 1 and 100.")
        rows = sorted(self.sessions.values(), key=lambda s: s["created"], reverse=True)
        created = params.get("created") or {}
        tests = {"gte": int.__ge__, "gt": int.__gt__, "lte": int.__le__, "lt": int.__lt__}
        for op, bound in created.items():
            if op not in tests:
                raise invalid(f"created[{op}]", f"Received unknown parameter: created[{op}]")
            limit_value = integer(bound, f"created[{op}]")
            rows = [s for s in rows if tests[op](s["created"], limit_value)]
        after = params.get("starting_after")
        if after is not None:
            ids = [s["id"] for s in rows]
            if after not in ids:
                raise invalid(
                    "starting_after", f"No such checkout.session: '{after}'", "resource_missing"
                )
            rows = rows[ids.index(after) + 1 :]
        page = [self._expanded(s, params.get("expand") or []) for s in rows[:limit]]
        return {
            "object": "list",
            "data": page,
            "has_more": len(rows) > limit,
            "url": "/v1/checkout/sessions",
        }

    def _expanded(self, session: Json, expand: list[str]) -> Json:
        shown = json.loads(json.dumps(session))
        for path in expand:
            if path not in ("data.payment_intent", "data.payment_intent.latest_charge"):
                raise invalid("expand", f"This property cannot be expanded ({path}).")
        if expand and shown["payment_intent"] is not None:
            intent = json.loads(json.dumps(self.intents[shown["payment_intent"]]))
            if "data.payment_intent.latest_charge" in expand and intent["latest_charge"]:
                intent["latest_charge"] = json.loads(
                    json.dumps(self.charges[intent["latest_charge"]])
                )
            shown["payment_intent"] = intent
        return shown

    # -- Stripe's side of the checkout ----------------------------------------------------
    def pay(self, session_id: str, *, method: str = "card", settled: bool = True) -> Json:
        """The payer pays on the checkout page with `method`; `settled=False`: a debit that
        is still on its way (`payment_status` stays `unpaid` until `settle`)."""
        with self._lock:
            session = self.sessions[session_id]
            data = self.intent_data[session_id]
            now = self.clock()
            intent_id, charge_id = self.new_id("pi"), self.new_id("ch")
            metadata = dict(data.get("metadata") or {})
            self.intents[intent_id] = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": session["amount_total"],
                "amount_received": session["amount_total"] if settled else 0,
                "currency": session["currency"],
                "created": now,
                "description": data.get("description"),
                "latest_charge": charge_id,
                "metadata": metadata,
                "payment_method_types": [method],
                "statement_descriptor_suffix": data.get("statement_descriptor_suffix"),
                "status": "succeeded" if settled else "processing",
            }
            self.charges[charge_id] = {
                "id": charge_id,
                "object": "charge",
                "amount": session["amount_total"],
                "amount_captured": session["amount_total"],
                "amount_refunded": 0,
                "created": now,
                "currency": session["currency"],
                "metadata": dict(metadata),  # a payment intent's metadata is copied to its charges
                "paid": settled,
                "payment_intent": intent_id,
                "payment_method_details": {"type": method},
                "refunded": False,
                "status": "succeeded" if settled else "pending",
                "refunds": {"object": "list", "data": [], "has_more": False},
            }
            session.update(
                status="complete",
                payment_status="paid" if settled else "unpaid",
                payment_intent=intent_id,
            )
            return json.loads(json.dumps(session))

    def settle(self, session_id: str, *, succeeded: bool) -> Json:
        """An unsettled debit goes through (`succeeded`) or fails."""
        with self._lock:
            session = self.sessions[session_id]
            intent = self.intents[session["payment_intent"]]
            charge = self.charges[intent["latest_charge"]]
            if succeeded:
                intent.update(status="succeeded", amount_received=intent["amount"])
                charge.update(status="succeeded", paid=True)
                session["payment_status"] = "paid"
            else:
                intent["status"] = "requires_payment_method"
                charge.update(status="failed", paid=False)
            return json.loads(json.dumps(session))

    def expire(self, session_id: str) -> Json:
        """An open session expires (or the payer's time ran out)."""
        with self._lock:
            session = self.sessions[session_id]
            session["status"] = "expired"
            return json.loads(json.dumps(session))

    # -- Refunds --------------------------------------------------------------------------
    def create_refund(self, params: Json) -> Json:
        """`POST /v1/refunds` for a payment intent (or a charge)."""
        if "payment_intent" in params:
            intent = self.intents.get(params["payment_intent"])
            if intent is None:
                raise invalid(
                    "payment_intent",
                    f"No such payment_intent: '{params['payment_intent']}'",
                    "resource_missing",
                )
            charge = self.charges[intent["latest_charge"]]
        elif "charge" in params:
            found = self.charges.get(params["charge"])
            if found is None:
                raise invalid("charge", f"No such charge: '{params['charge']}'", "resource_missing")
            charge = found
        else:
            raise missing("payment_intent")
        if charge["status"] != "succeeded":
            raise invalid(
                "payment_intent",
                "This PaymentIntent does not have a successful charge to refund.",
                "charge_not_refundable",
            )
        left = charge["amount"] - charge["amount_refunded"]
        if left == 0:
            raise invalid(
                "charge",
                f"Charge {charge['id']} has already been refunded.",
                "charge_already_refunded",
            )
        amount = integer(params.get("amount", str(left)), "amount")
        if amount <= 0:
            raise invalid("amount", "Invalid positive integer", "parameter_invalid_integer")
        if amount > left:
            raise invalid(
                "amount",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                "amount_too_large",
            )
        method = charge["payment_method_details"]["type"]
        refund_id = self.new_id("re")
        refund: Json = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "created": self.clock(),
            "currency": charge["currency"],
            "metadata": params.get("metadata") or {},
            "payment_intent": charge["payment_intent"],
            "reason": params.get("reason"),
            "status": "pending" if method in SLOW_REFUNDS else "succeeded",
        }
        self.refunds[refund_id] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        charge["refunds"]["data"].insert(0, refund)
        return json.loads(json.dumps(refund))

    # -- webhook events ---------------------------------------------------------------------
    def event(
        self, kind: str, obj: Json, *, previous: Json | None = None, created: int | None = None
    ) -> bytes:
        """The body of a webhook event about `obj`, as Stripe posts it (pretty-printed)."""
        data: Json = {"object": obj}
        if previous is not None:
            data["previous_attributes"] = previous
        event = {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": created if created is not None else self.clock(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }
        return json.dumps(event, indent=2).encode("utf-8")


def sign(payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe sends with `payload`."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode("utf-8"), f"{t}.".encode() + payload, hashlib.sha256)
    return f"t={t},v1={mac.hexdigest()}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, answer, extra = self.server.stripe.handle(self.command, self.path, headers, body)
        raw = json.dumps(answer, indent=2).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
            self.send_header("Stripe-Version", headers.get("stripe-version", API_VERSION))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)
        except OSError:  # the client gave up (its timeout): nothing to answer
            self.close_connection = True

    do_GET = do_POST = do_DELETE = _answer  # noqa: N815 - http.server's naming

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        """Quiet: tests read `requests` instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stripe: StripeLoopback

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that vanish mid-request (timeouts) are expected here."""


@contextmanager
def stripe_loopback() -> Iterator[StripeLoopback]:
    """Serve a `StripeLoopback` on 127.0.0.1 and a free port for the block."""
    server = _Server((HOST, 0), _Handler)
    state = StripeLoopback(port=server.server_address[1])
    server.stripe = state
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)

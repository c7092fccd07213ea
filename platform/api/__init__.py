"""`portalis.api`: the engine-level names a plugin may use (no Flask, no runtime).

This module is the public contract between Portalis and its plugins, together with
`portalis.web` (runtime-level names) and `portalis.testing` (test support). A plugin imports
from these three only; the modules behind them may move or change without notice.

Versioning: the names in `__all__` follow semantic versioning. Removing a name or changing
its meaning or signature incompatibly is a major version change; adding a name (or an
optional parameter) is a minor one. Anything not in `__all__` is not part of the contract.

Names that are not classes or functions (markers, type aliases, constants) are documented by
the `#:` comment above their assignment; `portalis.engine.docs.docgen` reads both.
"""

from __future__ import annotations

from portalis.engine import guards as _guards
from portalis.engine import problems as _problems
from portalis.engine.data import audit as _audit
from portalis.engine.data import rows as _rows
from portalis.engine.data.db import begin_write
from portalis.engine.data.errors import (
    BadQuery,
    FieldMessage,
    Forbidden,
    NotFound,
    OutOfScope,
    StaleRecord,
    ValidationFailed,
)
from portalis.engine.data.events import WriteEvent
from portalis.engine.data.permissions import Actor, Decision
from portalis.engine.data.rows import Record
from portalis.engine.data.store import RecordStore
from portalis.engine.data.tables import utcnow
from portalis.engine.definition.auth_config import AuthConfig, AuthProvider
from portalis.engine.definition.fields import CheckContext, FieldType, FieldValueError, TableContext
from portalis.engine.definition.loader import RawPortal, SourceMap
from portalis.engine.definition.model import Entity, Field, Grant, PortalModel, Role
from portalis.engine.definition.sections import DefinitionSection, SectionContext
from portalis.engine.definition.values import Label
from portalis.engine.expr.expressions import ExpressionFunction
from portalis.engine.flow.rights import RecordRights, record_rights
from portalis.engine.guards import GuardRequest
from portalis.engine.hookspecs import hookimpl as _hookimpl
from portalis.engine.outbox.outbound import OutboundPolicy, OutboundRefused
from portalis.engine.payments import provider as _payments
from portalis.engine.payments.provider import (
    Checkout,
    CheckoutRequest,
    EventRejected,
    PaymentEvent,
    PaymentProvider,
    ProviderContext,
    ProviderError,
    ProviderPayment,
    RefundResult,
)
from portalis.engine.portal import CompiledPortal
from portalis.engine.problems import PortalisError, Problem, Severity

__all__ = [
    "PROBLEM_CODES",
    "Actor",
    "AuthConfig",
    "AuthProvider",
    "BadQuery",
    "CheckContext",
    "Checkout",
    "CheckoutRequest",
    "CompiledPortal",
    "Decision",
    "DefinitionSection",
    "Entity",
    "EventRejected",
    "ExpressionFunction",
    "Field",
    "FieldMessage",
    "FieldType",
    "FieldValueError",
    "Forbidden",
    "Grant",
    "GuardRequest",
    "JsonPath",
    "Label",
    "NotFound",
    "OutOfScope",
    "OutboundPolicy",
    "OutboundRefused",
    "PaymentEvent",
    "PaymentEventKind",
    "PaymentProvider",
    "PortalModel",
    "PortalisError",
    "Problem",
    "ProviderContext",
    "ProviderError",
    "ProviderPayment",
    "RawPortal",
    "Record",
    "RecordPage",
    "RecordRights",
    "RecordStore",
    "RefundResult",
    "RequestGuard",
    "Role",
    "SectionContext",
    "Severity",
    "SourceMap",
    "StaleRecord",
    "TableContext",
    "ValidationFailed",
    "WriteEvent",
    "begin_write",
    "hookimpl",
    "record_auth_event",
    "record_rights",
    "utcnow",
]

#: Decorator of a hook implementation: `@hookimpl def portalis_field_types() -> …`, for the
#: engine's hooks and the runtime's alike. Every hook is listed, by layer, in the hook reference
#: (`docs/plugins.md`); a decorated function that matches no hook is refused when the plugin
#: manager is built.
hookimpl = _hookimpl

#: A request guard from `portalis_request_guards`: called with a `GuardRequest` before a
#: portal request is handled; True lets the request through, False answers 403.
RequestGuard = _guards.RequestGuard

#: Where a value sits in a definition: keys and list positions from the root, e.g.
#: `("auth", "providers", 1, "url")`; a problem's `path`, and the `path` a definition
#: section's check receives and reports at.
JsonPath = _problems.JsonPath

#: Every stable problem code → what it means (codes never change meaning once published).
PROBLEM_CODES = _problems.CODES

#: What a payment event says happened: pending, succeeded, failed, refunded or canceled.
PaymentEventKind = _payments.EventKind

#: One page of a list query of the record store (`RecordStore.list`).
RecordPage = _rows.Page

#: Record a sign-in event in the audit log without a request (a script, a job):
#: `record_auth_event(conn, portal=…, action=…, actor_id=…, email=…, ip=None, detail={…})`.
#: Inside a portal request use `portalis.web.audit_auth`, which adds the client address.
record_auth_event = _audit.record_auth

"""`portalis.web`: the runtime-level names a plugin may use (pages, requests, sign-ins).

A plugin's runtime code (routes, blocks, sign-in providers, second factors) imports from
here and from `portalis.api`; never from `portalis.runtime` or `flask.g` directly. Every
function below works inside a portal request unless its documentation says otherwise.

Versioning: the names in `__all__` follow semantic versioning. Removing a name or changing
its meaning or signature incompatibly is a major version change; adding a name (or an
optional parameter) is a minor one. Anything not in `__all__` is not part of the contract.

Names that are not classes or functions (type aliases) are documented by the `#:` comment
above their assignment; `portalis.engine.docs.docgen` reads both.
"""

from __future__ import annotations

from portalis.runtime.api import fields as _api_fields
from portalis.runtime.api.fields import ApiField
from portalis.runtime.auth import common as _common
from portalis.runtime.auth import providers as _providers
from portalis.runtime.auth.common import (
    audit_auth,
    form_value,
    login_redirect,
    render,
    see_other,
    user_row,
)
from portalis.runtime.auth.enrolment import EnrollableFactor, EnrolmentStart
from portalis.runtime.auth.flows import FlowContext
from portalis.runtime.auth.providers import (
    BindContext,
    ExternalIdentity,
    FormProvider,
    LoginRefused,
    Provider,
    ProviderType,
    RedirectProvider,
)
from portalis.runtime.auth.second_factor import (
    SecondFactor,
    complete_sign_in,
    finish_pending,
    pending_user,
    require_recent_auth,
    requires_second_factor,
)
from portalis.runtime.blocks.base import BlockContext, BlockType
from portalis.runtime.context import current_actor, current_portal, database, request_portal
from portalis.runtime.forms.auth import CodeForm
from portalis.runtime.forms.base import PortalForm, add_error
from portalis.runtime.forms.fieldtypes import FormFieldFactory as _FormFieldFactory
from portalis.runtime.platform_pages import use_locale
from portalis.runtime.plugin_routes import PortalRoute
from portalis.runtime.registry import RuntimePortal
from portalis.runtime.security import protect_request
from portalis.runtime.templating import gettext, label, ngettext
from portalis.runtime.urls import portal_url

__all__ = [
    "ApiField",
    "ApiFieldFactory",
    "BindContext",
    "BlockContext",
    "BlockType",
    "CodeForm",
    "EnrollableFactor",
    "EnrolmentStart",
    "ExternalIdentity",
    "FlowContext",
    "FormFieldFactory",
    "FormProvider",
    "LoginRefused",
    "PortalForm",
    "PortalRoute",
    "Provider",
    "ProviderKind",
    "ProviderType",
    "RedirectProvider",
    "RuntimePortal",
    "SecondFactor",
    "ViewResult",
    "add_error",
    "audit_auth",
    "complete_sign_in",
    "current_actor",
    "current_portal",
    "database",
    "finish_pending",
    "form_value",
    "gettext",
    "label",
    "login_redirect",
    "ngettext",
    "pending_user",
    "portal_url",
    "protect_request",
    "render",
    "request_portal",
    "require_recent_auth",
    "requires_second_factor",
    "see_other",
    "use_locale",
    "user_row",
]

#: What a view returns: a response, or `(body, status)` / `(body, status, headers)`
#: (`render(...)` gives the first form).
ViewResult = _common.ViewResult

#: How a sign-in provider is used: `"form"` (user name and password on the login page, a
#: `FormProvider`) or `"redirect"` (a button that starts a browser flow, a `RedirectProvider`).
ProviderKind = _providers.ProviderKind

#: What `portalis_api_fields` maps a field-type name to: a class (usually an `ApiField`
#: subclass) called as `cls(field, nullable=..., required_value=..., output=..., locale=...)`.
ApiFieldFactory = _api_fields.ApiFieldFactory
#: Makes the WTForms field of one field of a given type in HTML forms: takes the compiled
#: field (`portalis.api.Field`) and returns an unbound WTForms field (`IntegerField(...)`
#: called without a form). Registered through `portalis_form_fields`, or as a field type's
#: own `form_field` method.
FormFieldFactory = _FormFieldFactory

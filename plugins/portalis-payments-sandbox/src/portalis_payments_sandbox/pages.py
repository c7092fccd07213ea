"""The hosted test checkout at `/_sandbox-pay/<id>?link=<code>`: a platform-level blueprint.

GET shows the checkout ("no real money", what is paid, the amount) and its choices; POST
takes one. Every choice finishes the checkout once (a second submit, a second tab, a back
button show what happened), sends the signed event in the background and sends the payer
back to the portal (303) — whose return page shows the stored status, since a redirect is
never proof of payment. A link without its code, or to an unknown checkout, is a 404.

Before every view: the CSRF check of a POST (a platform page gets none from the
application), and the settlement sweep (`announce.settle_due`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, current_app, redirect, request, url_for
from flask.blueprints import BlueprintSetupState

from portalis.api import PaymentEventKind, utcnow
from portalis.web import ViewResult, database, protect_request, render, use_locale
from portalis.web import gettext as _

from . import announce, signing, store
from .delivery import Deliveries
from .provider import LINK_PARAM, PAGE_PREFIX

#: `app.extensions` key of the application's `Deliveries`.
EXTENSION = "portalis_payments_sandbox"
#: The code the verification step asks for (shown on the page: it is a test).
VERIFICATION_CODE = "1234"
_MAX_ID_LENGTH = 40
#: choice → (status, event kind, method, reason)
CHOICES: dict[str, tuple[str, PaymentEventKind, str | None, str | None]] = {
    "approve": ("succeeded", "succeeded", "card", None),
    "decline": ("failed", "failed", "card", "card_declined"),
    "later": ("pending", "pending", "sepa_debit", None),
    "cancel": ("canceled", "canceled", None, "canceled_by_payer"),
}


def deliveries_of(app: Flask) -> Deliveries:
    """The background deliveries of `app` (tests wait on them)."""
    found: Deliveries = app.extensions[EXTENSION]
    return found


def _deliveries() -> Deliveries:
    """The deliveries of the application serving this request."""
    return deliveries_of(current_app)


def _origin() -> str:
    """This server as the payer reached it (events URLs that are paths go there)."""
    return request.host_url


def _checkout(checkout_id: str) -> store.CheckoutRow:
    """The checkout of this link, in the payer's language; 404 for a wrong link."""
    if len(checkout_id) > _MAX_ID_LENGTH:
        abort(404)
    with database().connect() as conn:
        row = store.load(conn, checkout_id)
        secret = store.signing_key(conn, row.key_id) if row is not None else None
    code = request.args.get(LINK_PARAM, "")
    if row is None or secret is None or not signing.link_code_valid(secret, checkout_id, code):
        abort(404)
    use_locale(row.locale)
    return row


def _action(row: store.CheckoutRow, endpoint: str = "sandbox_pay.choose") -> str:
    """The URL of an endpoint of this checkout, with the link's code."""
    query: dict[str, Any] = {LINK_PARAM: request.args[LINK_PARAM]}
    return url_for(endpoint, checkout_id=row.id, **query)


def _page(row: store.CheckoutRow, status: int = 200, error: str | None = None) -> ViewResult:
    """The page for the checkout's state: the choices, the code step, or what happened."""
    if row.status == "verifying":
        return render(
            "sandbox_pay/verify.html", status, checkout=row, error=error,
            action=_action(row, "sandbox_pay.verify"), cancel=_action(row),
            code=VERIFICATION_CODE,
        )  # fmt: skip
    if row.is_open:
        return render("sandbox_pay/checkout.html", status, checkout=row, action=_action(row))
    return render("sandbox_pay/finished.html", status, checkout=row)


def show(checkout_id: str) -> ViewResult:
    """GET: the checkout's page."""
    return _page(_checkout(checkout_id))


def _finish(row: store.CheckoutRow, choice: str) -> ViewResult:
    """Take `choice` once: announce it and send the payer back; else show what happened."""
    status, kind, method, reason = CHOICES[choice]
    engine = database()
    done = store.decide(engine, row.id, status, utcnow(), method=method, reason=reason)
    if done is None:  # finished meanwhile (another tab, a double submit)
        with engine.connect() as conn:
            current = store.load(conn, row.id)
        return _page(current or row)
    deliveries = _deliveries()
    announce.announce(engine, deliveries, done, kind, _origin())
    if done.status == "pending":
        announce.settle_later(engine, deliveries, done, _origin())
    return redirect(done.return_url, 303)


def choose(checkout_id: str) -> ViewResult:
    """POST: approve, decline, settle later, cancel — or start the verification step."""
    row = _checkout(checkout_id)
    choice = request.form.get("choice", "")
    if choice == "verify":
        if store.start_verification(database(), row.id, utcnow()):
            return redirect(_action(row, "sandbox_pay.show"), 303)
        return show(checkout_id)
    if choice not in CHOICES:
        abort(400)
    return _finish(row, choice)


def verify(checkout_id: str) -> ViewResult:
    """POST: the verification code — the right one approves, a wrong one is a field error."""
    row = _checkout(checkout_id)
    if row.status != "verifying":
        return _page(row)
    if request.form.get("code", "").strip() != VERIFICATION_CODE:
        return _page(row, 422, _("That code is not right."))
    return _finish(row, "approve")


def _before() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        protect_request()
    announce.settle_due(database(), _deliveries(), _origin())


def make_blueprint() -> Blueprint:
    """A new blueprint of the hosted page (one per application) with its deliveries."""
    deliveries = Deliveries()

    def install(setup: BlueprintSetupState) -> None:
        setup.app.extensions.setdefault(EXTENSION, deliveries)

    bp = Blueprint(
        "sandbox_pay",
        __name__,
        url_prefix=PAGE_PREFIX,
        static_folder="static",
        static_url_path="/static",
    )
    bp.record_once(install)
    bp.before_request(_before)
    bp.add_url_rule("/<checkout_id>", "show", show, methods=["GET"])
    bp.add_url_rule("/<checkout_id>", "choose", choose, methods=["POST"])
    bp.add_url_rule("/<checkout_id>/verify", "verify", verify, methods=["POST"])
    return bp

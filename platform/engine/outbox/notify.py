"""Notifications: definition templates rendered per recipient, in the app and by e-mail.

`send` is what the `notify` action calls, on the connection of the write that triggered it:
it resolves the recipients, renders the notification in each recipient's language with only
the fields that recipient may read, stores the in-app row and queues a `mail` job — all in
the caller's transaction, so a rolled-back write notifies nobody and a template that fails to
render rolls the write back (R6). Templates run in Jinja's sandbox (`textmpl`, SECURITY A.35).

Who is notified is `recipients`' answer (creator, actor, ref fields, roles, ref paths such as
`account.sales_rep`). Each recipient sees only the fields they may read, formatted in their
language (`79,00 €`, `31.10.2026` for a German reader); someone who may not read the record at
all is still told, with an empty `record`.

The bell's reads and the preferences live in `inbox` and are re-exported here, so callers
have one module for notifications.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from ..data.permissions import SYSTEM_READABLE, Actor
from ..data.system_tables import notifications
from ..data.tables import utcnow
from ..definition.flow_model import NotificationTemplate
from ..definition.model import Entity, PortalModel
from ..expr.textmpl import TemplateProblem, render_text
from . import jobs
from .inbox import (
    Notification,
    add_unread,
    count_for,
    email_off,
    get,
    get_prefs,
    list_for,
    mark_read,
    set_pref,
    unread_count,
)
from .mail_body import display_value, mail_html
from .recipients import NotificationFailed, Recipient, recipients

if TYPE_CHECKING:
    from ..data.store import RecordStore

__all__ = [
    "MAIL_JOB",
    "Notification",
    "NotificationFailed",
    "Recipient",
    "count_for",
    "get",
    "get_prefs",
    "list_for",
    "mail_html",
    "mark_read",
    "recipients",
    "send",
    "set_pref",
    "unread_count",
]

#: The outbox job kind the runtime's mail handler sends.
MAIL_JOB: Final = "mail"
#: Longest subject kept (the column's size); longer subjects are cut with an ellipsis.
MAX_SUBJECT: Final = 300


def send(
    store: RecordStore,
    conn: sa.Connection,
    *,
    template: str,
    to: Sequence[str],
    entity: Entity,
    record: Mapping[str, Any],
    actor: Actor,
) -> int:
    """Notify the recipients `to` about `record` with notification `template`; returns how
    many users were notified (in the app, by e-mail or both)."""
    model = store.model
    spec = model.notifications.get(template)
    if spec is None:
        raise NotificationFailed("unknown notification {template!r}", template=template)
    users = recipients(store, conn, to=to, entity=entity, record=record, actor=actor)
    if not users:
        return 0
    acting = _acting_user(store, conn, actor)
    lookup = store.lookup(conn)
    return deliver(
        store,
        conn,
        spec,
        users,
        acting=acting,
        record=lambda user, locale: _readable_record(
            store, entity, record, user.actor(model), lookup, locale
        ),
        route=link_route(model, spec, record),
        entity=entity.name,
        record_id=record.get("id"),
    )


def deliver(
    store: RecordStore,
    conn: sa.Connection,
    spec: NotificationTemplate,
    users: Sequence[Recipient],
    *,
    acting: Mapping[str, str],
    record: Callable[[Recipient, str], Mapping[str, Any]],
    route: str | None,
    entity: str | None = None,
    record_id: int | None = None,
) -> int:
    """Render `spec` for each user (in their language, with the record as
    `record(user, locale)` shows it to them), write the in-app rows and queue the mails their preferences allow;
    returns how many users were notified."""
    model = store.model
    muted = email_off(conn, model.slug, spec.name, [u.id for u in users])
    notified = 0
    unread: list[int] = []
    for user in users:
        locale = recipient_locale(model, user.locale)
        subject, body = render(
            spec, locale, model.default_locale,
            {
                "record": record(user, locale),
                "recipient": {"name": user.name, "email": user.email},
                "actor": acting,
                "portal": {"title": model.title.get(locale, model.default_locale),
                           "slug": model.slug},
                "link": absolute_link(store, route),
            },
        )  # fmt: skip
        if spec.in_app:
            conn.execute(
                notifications.insert().values(
                    portal=model.slug, user_id=user.id, kind=spec.name, subject=subject,
                    body=body, link=route, entity=entity, record_id=record_id,
                    created_at=utcnow(), read_at=None,
                )
            )  # fmt: skip
            unread.append(user.id)
        wants_mail = spec.email and user.id not in muted and bool(user.email)
        if wants_mail:
            jobs.enqueue(
                conn,
                kind=MAIL_JOB,
                portal=model.slug,
                payload={
                    "to": user.email, "subject": subject, "text": body,
                    "html": mail_html(subject, body, locale), "locale": locale,
                    **attachments(model, spec, user, entity, record_id),
                    # the bell keeps the text; the outbox need not once the mail is out
                    jobs.REDACT_KEY: ["text", "html"],
                },
            )  # fmt: skip
        notified += int(spec.in_app or wants_mail)
    add_unread(conn, model.slug, unread)
    return notified


def attachments(
    model: PortalModel,
    spec: NotificationTemplate,
    user: Recipient,
    entity: str | None,
    record_id: int | None,
) -> dict[str, Any]:
    """The `attach` entry of a mail job: which printouts of the record the worker renders and
    attaches, and for whom (the recipient: their language and what they may read). The PDF
    is made when the mail is sent, so it shows the record as committed."""
    if not spec.attach or entity is None or record_id is None or entity not in model.entities:
        return {}
    names = [n for n in spec.attach if n in model.entities[entity].printouts]
    if not names:
        return {}
    reader = {"id": user.id, "account": user.account, "roles": list(user.roles)}
    return {"attach": {"entity": entity, "id": record_id, "printouts": names, "user": reader}}


def render(
    spec: NotificationTemplate, locale: str, default_locale: str, context: Mapping[str, Any]
) -> tuple[str, str]:
    """(subject, body) of `spec` in `locale`; NotificationFailed when a template fails."""
    subject_tpl, body_tpl = spec.pick(locale, default_locale)
    try:
        subject = " ".join(render_text(subject_tpl, context).split())
        body = render_text(body_tpl, context).strip()
    except TemplateProblem as exc:
        raise NotificationFailed(
            "notification {template!r} ({locale}) failed: {error}",
            template=spec.name, locale=locale, error=str(exc),
        ) from None  # fmt: skip
    if len(subject) > MAX_SUBJECT:
        subject = subject[: MAX_SUBJECT - 1] + "…"
    return subject, body


def record_account(entity: Entity, record: Mapping[str, Any]) -> int | None:
    """The account a record belongs to (its `account_field`; the id of an account)."""
    if entity.account_field is None:
        return None
    value = record.get(entity.account_field)
    return int(value) if value is not None else None


def recipient_locale(model: PortalModel, preferred: str | None) -> str:
    """The user's language when the portal offers it (or its base language), else the
    portal's default."""
    if preferred:
        for candidate in (preferred, preferred.split("-")[0]):
            if candidate in model.locales:
                return candidate
    return model.default_locale


def _acting_user(store: RecordStore, conn: sa.Connection, actor: Actor) -> dict[str, str]:
    """{name, email} of who acted: the user (for the system actor: the user it acts for),
    or the portal itself for scheduled work nobody caused."""
    user_id = actor.on_behalf_of if actor.is_system else actor.id
    if user_id is not None:
        users = store.tables["user"]
        row = conn.execute(
            sa.select(users.c.name, users.c.email).where(users.c.id == user_id)
        ).first()
        if row is not None:
            return {"name": str(row.name or ""), "email": str(row.email or "")}
    title = store.model.title.get(store.model.default_locale, store.model.default_locale)
    return {"name": title, "email": ""}


def _readable_record(
    store: RecordStore,
    entity: Entity,
    record: Mapping[str, Any],
    reader: Actor,
    lookup: Any,
    locale: str,
) -> dict[str, Any]:
    """The record as `reader` may see it, values made presentable in `locale`; empty when
    they may not read it at all (a notification must not leak what a page would hide)."""
    grants = store.policy.matching_grants(reader, "read", entity.name, record, lookup=lookup)
    if not grants:
        return {}
    fields = store.policy.fields_of_grants(entity.name, grants)
    out = {
        name: display_value(record.get(name), locale) for name in SYSTEM_READABLE if name in record
    }
    for name in entity.fields:
        if name in fields:
            out[name] = display_value(record.get(name), locale)
    return out


def link_route(
    model: PortalModel, spec: NotificationTemplate, record: Mapping[str, Any]
) -> str | None:
    """The portal-relative path of the notification's page (`/tickets/7`), if it has one."""
    page = model.pages.get(spec.link or "")
    if page is None:
        return None
    if not page.has_id:
        return page.route
    if record.get("id") is None:
        return None
    return page.route.replace("<id>", str(int(record["id"])))


def absolute_link(store: RecordStore, route: str | None) -> str:
    """The link templates see: `<base_url>/<slug><route>` (the portal's home without a
    route); a path when the store has no base URL."""
    return f"{store.base_url}/{store.model.slug}{route or '/'}"

"""Tables of the living portal: outbox jobs, audit log, approvals, notifications (with each
user's unread count), schedules, the counters of sequence fields, attached documents,
"was this helpful?" votes and online payments with their events and refunds.

They are shared by all portals (rows carry the portal slug) and created with the platform
tables. Every time column is timezone-aware UTC; SQLite hands them back naive, so readers
normalise with `aware`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from ..definition.fieldtypes.exact import exact_decimal
from ..definition.fieldtypes.money import AMOUNT_PRECISION, AMOUNT_SCALE

#: Metadata of these tables; `platform_tables.ensure_platform_tables` creates them too.
system_metadata = sa.MetaData()

_TZ = sa.DateTime(timezone=True)
#: Amounts of money: the column type of money fields (exact on SQLite too).
_MONEY = exact_decimal(AMOUNT_PRECISION, AMOUNT_SCALE)

#: The outbox: side effects (mail, webhooks, timers, scheduled automations) written in the
#: same transaction as the change that caused them, run later by `portalis worker`.
jobs = sa.Table(
    "portalis_job",
    system_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("portal", sa.String(40), nullable=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    # pending → running → done | pending (retry) | dead (attempts exhausted or discarded)
    sa.Column("status", sa.String(12), nullable=False, default="pending"),
    sa.Column("run_at", _TZ, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("max_attempts", sa.Integer, nullable=False, default=8),
    sa.Column("locked_by", sa.String(80), nullable=True),
    sa.Column("locked_until", _TZ, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    # a job with a key exists once (e.g. one timer per record and state entry)
    sa.Column("key", sa.String(200), nullable=True, unique=True),
    sa.Column("created_at", _TZ, nullable=False),
    sa.Column("updated_at", _TZ, nullable=False),
    sa.Column("finished_at", _TZ, nullable=True),
    sa.Index("ix_portalis_job_due", "status", "run_at"),
)

#: The audit log: append-only (the code has no update or delete path; on PostgreSQL a
#: trigger refuses both).
audit = sa.Table(
    "portalis_audit",
    system_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("at", _TZ, nullable=False),
    sa.Column("actor_id", sa.Integer, nullable=True),
    sa.Column("actor_email", sa.String(254), nullable=True),
    sa.Column("ip", sa.String(64), nullable=True),
    # create | update | delete | transition | approve | login | login_failed | logout |
    # lockout | password_change | ... (auth events use the same table)
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("entity", sa.String(40), nullable=True),
    sa.Column("record_id", sa.Integer, nullable=True),
    # field → [old, new] in storage form (JSON-safe); secrets never appear
    sa.Column("changes", sa.JSON, nullable=True),
    # workflow, transition, from, to, comment, provider, reason, via (automation/timer) …
    sa.Column("detail", sa.JSON, nullable=True),
    sa.Index("ix_portalis_audit_record", "portal", "entity", "record_id", "id"),
    sa.Index("ix_portalis_audit_at", "portal", "at"),
    sqlite_autoincrement=True,  # approval rounds and links name audit ids: never reuse one
)

#: Approvals given towards a quorum transition. `round` is the audit id of the event that put
#: the record into its current state: approvals of an earlier stay never count again.
approvals = sa.Table(
    "portalis_approval",
    system_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("record_id", sa.Integer, nullable=False),
    sa.Column("transition", sa.String(40), nullable=False),
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("actor_id", sa.Integer, nullable=False),
    sa.Column("at", _TZ, nullable=False),
    sa.Column("comment", sa.Text, nullable=True),
    sa.UniqueConstraint(
        "portal", "entity", "record_id", "transition", "round", "actor_id",
        name="uq_portalis_approval_once",
    ),
    sqlite_autoincrement=True,
)  # fmt: skip

#: In-app notifications (the bell). Rendered in the recipient's language when sent.
notifications = sa.Table(
    "portalis_notification",
    system_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(60), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("link", sa.String(500), nullable=True),
    sa.Column("entity", sa.String(40), nullable=True),
    sa.Column("record_id", sa.Integer, nullable=True),
    sa.Column("created_at", _TZ, nullable=False),
    sa.Column("read_at", _TZ, nullable=True),
    sa.Index("ix_portalis_notification_user", "portal", "user_id", "read_at"),
    sqlite_autoincrement=True,  # ids are in links: a deleted one is never handed out again
)


def _count_existing_unread(target: sa.Table, connection: sa.Connection, **_: object) -> None:
    """When the counter table is created in a database that already holds notifications,
    count their unread ones (so a missing counter row always means none unread)."""
    if not sa.inspect(connection).has_table(notifications.name):
        return
    unread = (
        sa.select(notifications.c.portal, notifications.c.user_id, sa.func.count())
        .where(notifications.c.read_at.is_(None))
        .group_by(notifications.c.portal, notifications.c.user_id)
    )
    connection.execute(target.insert().from_select(["portal", "user_id", "unread"], unread))


#: Unread in-app notifications per user: the bell's number. Kept in the transaction of every
#: notification write (`outbox.inbox`), so a page reads it with its session and user and
#: never counts; no row means none unread.
notification_unread = sa.Table(
    "portalis_notification_unread",
    system_metadata,
    sa.Column("portal", sa.String(40), primary_key=True),
    sa.Column("user_id", sa.Integer, primary_key=True),
    sa.Column("unread", sa.Integer, nullable=False),
    listeners=[("after_create", _count_existing_unread)],
)

#: Per-user notification preferences; no row means the default (e-mail on).
notification_prefs = sa.Table(
    "portalis_notification_pref",
    system_metadata,
    sa.Column("portal", sa.String(40), primary_key=True),
    sa.Column("user_id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(60), primary_key=True),
    sa.Column("email", sa.Boolean, nullable=False),
)

#: Next run of each scheduled automation; workers claim a due run by a guarded UPDATE.
schedules = sa.Table(
    "portalis_schedule",
    system_metadata,
    sa.Column("portal", sa.String(40), primary_key=True),
    sa.Column("automation", sa.String(60), primary_key=True),
    sa.Column("cron", sa.String(120), nullable=False),
    sa.Column("next_run_at", _TZ, nullable=False),
    sa.Column("last_run_at", _TZ, nullable=True),
)


#: The last number each sequence field handed out, per portal, entity, field and period
#: (`all`, a year `2026` or a month `2026-03`). Incremented in the transaction of the create
#: that takes the number (`data.sequences`), so a rolled-back create gives it back.
sequence_counters = sa.Table(
    "portalis_sequence",
    system_metadata,
    sa.Column("portal", sa.String(40), primary_key=True),
    sa.Column("entity", sa.String(40), primary_key=True),
    sa.Column("field", sa.String(40), primary_key=True),
    sa.Column("period", sa.String(10), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

#: Documents attached to records (`attachments:` of an entity): one row per document, its
#: current name and folder; `id` is opaque (URLs carry it) and never reused.
attachments = sa.Table(
    "portalis_attachment",
    system_metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("record_id", sa.Integer, nullable=False),
    sa.Column("folder", sa.String(40), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("current", sa.Integer, nullable=False),  # number of the current version
    sa.Column("created_at", _TZ, nullable=False),
    sa.Column("created_by", sa.Integer, nullable=True),
    sa.Column("updated_at", _TZ, nullable=False),
    sa.Index("ix_portalis_attachment_record", "portal", "entity", "record_id"),
)

#: Every stored version of a document: its bytes live in the runtime's file store under
#: `file_id` (a generated name), checked against `sha256` on every download.
attachment_versions = sa.Table(
    "portalis_attachment_version",
    system_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "attachment_id",
        sa.String(64),
        sa.ForeignKey("portalis_attachment.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("file_id", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("created_at", _TZ, nullable=False),
    sa.Column("created_by", sa.Integer, nullable=True),
    sa.UniqueConstraint("attachment_id", "number", name="uq_portalis_attachment_version"),
)


#: Memberships: a user belongs to several accounts, with roles in each. The user row's
#: `account` and `roles` are the user's home membership (its row here only marks it, its
#: roles are the user row's); every other row gives the roles the user holds while that
#: account is active (`accounts.memberships`).
memberships = sa.Table(
    "portalis_membership",
    system_metadata,
    sa.Column("portal", sa.String(40), primary_key=True),
    sa.Column("user_id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, primary_key=True),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("created_at", _TZ, nullable=False),
    sa.Index("ix_portalis_membership_account", "portal", "account_id"),
)


#: "Was this helpful?" votes on records (`feedback` block): one per voter and record — a
#: signed-in user by id (`user:<id>`), a visitor by a random token in their session
#: (`visitor:<token>`), never by address — changed by voting again.
feedback_votes = sa.Table(
    "portalis_feedback_vote",
    system_metadata,
    sa.Column("portal", sa.String(40), primary_key=True),
    sa.Column("entity", sa.String(63), primary_key=True),
    sa.Column("record_id", sa.Integer, primary_key=True),
    sa.Column("voter", sa.String(80), primary_key=True),
    sa.Column("helpful", sa.Boolean, nullable=False),
    sa.Column("updated_at", _TZ, nullable=False),
)

#: Online payments of payable records (`payments`): one row per checkout started, `id`
#: (`pay_<token>`) echoed back by the provider in its events. `status`: created → open →
#: pending | succeeded | failed | canceled, after refunds partially_refunded | refunded;
#: flagged when an event disagreed on amount or currency (`flag` says how). `event_at` is
#: when the last applied event happened (events may arrive out of order).
payments = sa.Table(
    "portalis_payment",
    system_metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("record_id", sa.Integer, nullable=False),
    sa.Column("provider", sa.String(40), nullable=False),  # the entry's name
    sa.Column("provider_type", sa.String(40), nullable=False),
    sa.Column("reference", sa.String(255), nullable=True),  # the provider's checkout id
    # the provider's hosted page the payer is sent to (kept: the portal sends them on from
    # its own page, so that a form's `form-action 'self'` never meets another origin)
    sa.Column("checkout_url", sa.String(2000), nullable=True),
    sa.Column("transaction", sa.String(255), nullable=True),  # its money movement id
    sa.Column("amount", _MONEY, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("refunded", _MONEY, nullable=False),
    sa.Column("method", sa.String(40), nullable=True),
    sa.Column("reason", sa.String(500), nullable=True),
    sa.Column("flag", sa.Text, nullable=True),
    sa.Column("created_by", sa.Integer, nullable=True),
    sa.Column("created_at", _TZ, nullable=False),
    sa.Column("updated_at", _TZ, nullable=False),
    sa.Column("event_at", _TZ, nullable=True),
    # NULLs are distinct: a payment gets its reference once the checkout exists
    sa.UniqueConstraint("portal", "provider", "reference", name="uq_portalis_payment_reference"),
    sa.Index("ix_portalis_payment_record", "portal", "entity", "record_id"),
    sa.Index("ix_portalis_payment_created", "portal", "provider", "created_at"),
)

#: Every verified payment event, stored once per portal, provider and event id (a replay,
#: also a concurrent one, finds its row and changes nothing). `outcome`: applied, ignored
#: (superseded or already applied), flagged (amount or currency disagreed) or unknown (no
#: payment of this portal and provider).
payment_events = sa.Table(
    "portalis_payment_event",
    system_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("portal", sa.String(40), nullable=False),
    sa.Column("provider", sa.String(40), nullable=False),
    sa.Column("event_id", sa.String(255), nullable=False),
    sa.Column("payment_id", sa.String(40), nullable=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("amount", _MONEY, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("occurred_at", _TZ, nullable=False),
    sa.Column("received_at", _TZ, nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.UniqueConstraint("portal", "provider", "event_id", name="uq_portalis_payment_event"),
    sa.Index("ix_portalis_payment_event_payment", "payment_id"),
)

#: Refunds of payments (`re_<token>`, also the idempotency key the provider gets): written
#: `requested` before the provider is asked, then `succeeded`, `pending` (an event follows)
#: or `failed`. A refund made in the provider's dashboard arrives as an event and gets a row
#: without `created_by`.
payment_refunds = sa.Table(
    "portalis_payment_refund",
    system_metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("payment_id", sa.String(40), sa.ForeignKey("portalis_payment.id"), nullable=False),
    sa.Column("amount", _MONEY, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("reference", sa.String(255), nullable=True),  # the provider's refund id
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(500), nullable=True),
    sa.Column("created_by", sa.Integer, nullable=True),
    sa.Column("created_at", _TZ, nullable=False),
    sa.Index("ix_portalis_payment_refund_payment", "payment_id"),
)

# Append-only on PostgreSQL even for someone with SQL access through the application's role.
_AUDIT_GUARD = sa.DDL(  # type: ignore[no-untyped-call]
    """
    CREATE OR REPLACE FUNCTION portalis_audit_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'portalis_audit is append-only (%% refused)', TG_OP;
    END;
    $$ LANGUAGE plpgsql;
    CREATE TRIGGER portalis_audit_append_only
        BEFORE UPDATE OR DELETE ON portalis_audit
        FOR EACH ROW EXECUTE FUNCTION portalis_audit_append_only();
    """
)
sa.event.listen(audit, "after_create", _AUDIT_GUARD.execute_if(dialect="postgresql"))


def aware(value: datetime | None) -> datetime | None:
    """`value` as an aware UTC datetime (SQLite returns naive UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)

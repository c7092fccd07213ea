"""Notifications on SQLite and PostgreSQL: who receives them, in which language, what they may
see of the record, preferences, the outbox, rollback on failure, and the template sandbox
(SECURITY A.35, B.13)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.engine.accounts.users import create_user, set_active
from portalis.engine.data.db import begin_write
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.data.system_tables import jobs, notifications
from portalis.engine.definition.flow_model import Action
from portalis.engine.deploy.validator import Checker
from portalis.engine.flow import actions
from portalis.engine.outbox import mail_body, notify
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import actor_for, b2c_with, deploy_dir

BASE = "https://portal.example.test"
SECRET = "root password is hunter2"

#: An incident entity whose `secret_note` customers may not read, and the notifications of
#: these tests (sandbox probes included: templates compile with the definition).
DEFINITION = """
entities:
  incident:
    label: {en: Incident, de: Vorfall}
    title_field: title
    fields:
      title: {type: string, required: true, max_length: 200}
      secret_note: {type: text}
      account: {type: ref, to: account, required: true}
      owner: {type: ref, to: user}
      amount: {type: money}
      due: {type: date}
      severity: {type: choice, options: [low, high], default: low}
      tags: {type: tags}
    permissions:
      - {roles: [customer], actions: [read], scope: account, fields: {except: [secret_note]}}
      - {roles: [agent], actions: [read, create, update], scope: all}

pages:
  incident:
    route: /incidents/<id>
    title: {en: Incident, de: Vorfall}
    roles: [customer, agent]
    blocks:
      - detail: {entity: incident}

notifications:
  incident_update:
    label: {en: Incident updates, de: Neuigkeiten zu Vorfällen}
    link: incident
    subject:
      en: "Update: {{ record.title }}"
      de: "Neuigkeit: {{ record.title }}"
    body:
      en: |
        Hello {{ recipient.name }},

        {{ actor.name }} updated "{{ record.title }}" <{{ recipient.email }}>.
        Severity {{ record.severity }}, amount {{ record.amount }}, due {{ record.due }}, tags {{ record.tags }}.
        Note: [{{ record.secret_note }}]

        {{ link }}
        -- {{ portal.title }} ({{ portal.slug }})
      de: |
        Hallo {{ recipient.name }},

        {{ actor.name }} hat „{{ record.title }}“ aktualisiert.
        Notiz: [{{ record.secret_note }}]

        {{ link }}
        -- {{ portal.title }}
  incident_quiet:
    label: Quiet
    email: false
    subject: "Quiet: {{ record.title }}"
    body: "{{ link }}"
  incident_mail_only:
    label: Mail only
    in_app: false
    subject: "Mail: {{ record.title }}"
    body: "No link here."
  sandbox_class:
    subject: "x{{ record.__class__ }}y"
    body: "[{{ recipient.__class__ }}][{{ record._sa_instance_state }}][{{ portal.__dict__ }}]"
  sandbox_mro:
    subject: "mro"
    body: "{{ ''.__class__.__mro__ }}"
  sandbox_globals:
    subject: "globals"
    body: "{{ cycler.__init__.__globals__ }}"
  sandbox_subclasses:
    subject: "subclasses"
    body: "{{ record.__class__.__base__.__subclasses__() }}"
  sandbox_repeat:
    subject: "{{ 'a' * 10**9 }}"
    body: "never"
  sandbox_power:
    subject: "big"
    body: "{{ 10**(10**6) }}"
  sandbox_mutate:
    subject: "mutate"
    body: "{{ record.update({'title': 'changed'}) }}"
  sandbox_format:
    subject: "format"
    body: "{{ '{0.__class__}'.format(record) }}"
"""


@dataclass
class World:
    engine: sa.Engine
    portal: CompiledPortal
    store: RecordStore
    sam: Actor
    ben: Actor
    anna: Actor
    acme: int
    globex: int

    def incident(self, **values: Any) -> dict[str, Any]:
        data = {"title": "Printer on fire", "account": self.acme, "secret_note": SECRET}
        data.update(values)
        record = self.store.insert(self.sam, "incident", data)
        with self.engine.connect() as conn:
            return self.store.load_raw(conn, self.store.entity("incident"), record.id)

    def send(
        self, template: str, to: Sequence[str], record: dict[str, Any], actor: Actor | None = None
    ) -> int:
        with begin_write(self.engine) as conn:
            return notify.send(
                self.store, conn, template=template, to=to,
                entity=self.store.entity("incident"), record=record, actor=actor or self.sam,
            )  # fmt: skip

    def inbox(self, actor: Actor) -> list[notify.Notification]:
        assert actor.id is not None
        with self.engine.connect() as conn:
            return notify.list_for(conn, portal=self.portal.slug, user_id=actor.id, limit=50)

    def mails(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            query = sa.select(jobs.c.payload).where(jobs.c.kind == "mail").order_by(jobs.c.id)
            return [dict(r.payload) for r in conn.execute(query)]

    def mail_to(self, email: str) -> list[dict[str, Any]]:
        return [m for m in self.mails() if m["to"] == email]


@pytest.fixture
def world(db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path) -> World:
    portal = deploy_dir(
        db_engine,
        portalis_checker,
        b2c_with(tmp_path / "b2c-notify", files={"entities/zz_incident.yaml": DEFINITION}),
    )
    accounts = portal.tables["account"]
    with db_engine.connect() as conn:
        ids = dict(conn.execute(sa.select(accounts.c.name, accounts.c.id)).all())
    return World(
        db_engine,
        portal,
        portal.store(db_engine, base_url=BASE + "/"),
        actor_for(db_engine, portal, "sam@support.test"),
        actor_for(db_engine, portal, "ben@acme.test"),
        actor_for(db_engine, portal, "anna@acme.test"),
        ids["Acme GmbH"],
        ids["Globex Ltd"],
    )


def emails(users: Sequence[notify.Recipient]) -> list[str]:
    return [u.email for u in users]


def resolve(world: World, to: Sequence[str], record: dict[str, Any], actor: Actor) -> list[str]:
    with world.engine.connect() as conn:
        return emails(
            notify.recipients(
                world.store, conn, to=to, entity=world.store.entity("incident"),
                record=record, actor=actor,
            )
        )  # fmt: skip


# -- recipients ---------------------------------------------------------------------------------
def test_a35_recipients_creator_actor_ref_and_roles(world: World) -> None:
    record = world.incident(owner=world.ben.id)  # created by sam
    sam, ben = world.sam, world.ben
    assert resolve(world, ["creator"], record, ben) == ["sam@support.test"]
    # the acting user is skipped unless `actor` is listed
    assert resolve(world, ["creator"], record, sam) == []
    assert resolve(world, ["creator", "actor"], record, sam) == ["sam@support.test"]
    assert resolve(world, ["actor"], record, ben) == ["ben@acme.test"]
    assert resolve(world, ["owner"], record, sam) == ["ben@acme.test"]
    # a staff role: every holder; other roles: holders in the record's account (inherited too)
    assert resolve(world, ["role:agent"], record, ben) == ["sam@support.test"]
    acme_customers = ["anna@acme.test", "ben@acme.test", "lena@acme.test"]
    assert resolve(world, ["role:customer"], record, sam) == acme_customers
    assert resolve(world, ["role:account_admin"], record, sam) == ["anna@acme.test"]
    # lena is Globex's customer too, by a membership: Globex's records reach her as well
    globex = world.incident(account=world.globex)
    assert resolve(world, ["role:customer"], globex, sam) == ["nina@globex.test", "lena@acme.test"]
    # … as Globex's member, with her roles there; Acme's administrator is not Globex's
    with world.engine.connect() as conn:
        found = notify.recipients(
            world.store,
            conn,
            to=["role:customer"],
            entity=world.store.entity("incident"),
            record=globex,
            actor=sam,
        )
    lena = next(u for u in found if u.email == "lena@acme.test")
    assert (lena.account, lena.roles) == (world.globex, ("customer",))
    assert resolve(world, ["role:account_admin"], globex, sam) == []
    # each user once, in the order listed
    assert resolve(world, ["owner", "role:customer", "creator"], record, world.anna) == [
        "ben@acme.test",
        "sam@support.test",
        "lena@acme.test",
    ]
    # the system actor acts for a user: that user is "actor" (and skipped otherwise)
    system = Actor.system(on_behalf_of=ben.id)
    assert resolve(world, ["role:customer"], record, system) == ["anna@acme.test", "lena@acme.test"]
    assert resolve(world, ["actor"], record, system) == ["ben@acme.test"]
    assert resolve(world, ["actor"], record, Actor.system()) == []


def test_a35_inactive_users_are_never_notified(world: World) -> None:
    with begin_write(world.engine) as conn:
        create_user(
            conn, world.portal, email="carl@acme.test", name="Carl", password=None,
            roles=["customer"], account=world.acme,
        )  # fmt: skip
    record = world.incident(owner=world.ben.id)
    assert "carl@acme.test" in resolve(world, ["role:customer"], record, world.sam)
    with begin_write(world.engine) as conn:
        set_active(conn, world.portal, "carl@acme.test", False)
        set_active(conn, world.portal, "ben@acme.test", False)
        set_active(conn, world.portal, "lena@acme.test", False)
    assert resolve(world, ["role:customer", "owner"], record, world.sam) == ["anna@acme.test"]
    assert world.send("incident_update", ["owner"], record) == 0
    assert world.inbox(world.ben) == [] and world.mails() == []


def test_a35_unknown_recipient_or_template_is_refused(world: World) -> None:
    record = world.incident()
    with pytest.raises(notify.NotificationFailed, match="not a field of incident"):
        world.send("incident_update", ["title"], record)
    with pytest.raises(notify.NotificationFailed, match="unknown role"):
        world.send("incident_update", ["role:wizard"], record)
    with pytest.raises(notify.NotificationFailed, match="unknown notification"):
        world.send("nope", ["creator"], record, world.ben)


# -- rendering ----------------------------------------------------------------------------------
def test_a35_each_recipient_reads_their_language(world: World) -> None:
    record = world.incident(owner=world.ben.id, title="Drucker brennt")
    assert world.send("incident_update", ["role:customer"], record) == 3  # anna, ben, lena
    (anna,) = world.inbox(world.anna)
    (ben,) = world.inbox(world.ben)
    assert anna.subject == "Neuigkeit: Drucker brennt"
    assert anna.body.startswith("Hallo Anna Berg,\n\nSam Agent hat „Drucker brennt“ aktualisiert.")
    assert "-- Acme Kundenservice" in anna.body
    assert ben.subject == "Update: Drucker brennt"
    assert ben.body.startswith("Hello Ben Ortiz,")
    assert "-- Acme Support (acme-support)" in ben.body
    assert anna.link == ben.link == f"/incidents/{record['id']}"
    assert (anna.entity, anna.record_id, anna.kind) == ("incident", record["id"], "incident_update")
    (de_mail,) = world.mail_to("anna@acme.test")
    (en_mail,) = world.mail_to("ben@acme.test")
    assert (de_mail["locale"], de_mail["subject"]) == ("de", "Neuigkeit: Drucker brennt")
    assert (en_mail["locale"], en_mail["subject"]) == ("en", "Update: Drucker brennt")
    assert en_mail["text"] == ben.body
    link = f"{BASE}/acme-support/incidents/{record['id']}"
    assert link in en_mail["text"]
    assert f'<a href="{link}"' in en_mail["html"] and 'lang="en"' in en_mail["html"]


def test_a35_values_are_shown_as_text(world: World) -> None:
    record = world.incident(
        amount="129.5", due="2099-03-01", severity="high", tags=["fire", "power"]
    )
    world.send("incident_update", ["creator", "actor"], record)
    (note,) = world.inbox(world.sam)
    # money and dates as the reader's pages show them (sam reads English)
    assert "Severity high, amount €129.50, due Mar 1, 2099, tags fire, power." in note.body
    empty = world.incident(title="Nothing set", secret_note=None)
    world.send("incident_update", ["actor"], empty)
    latest = world.inbox(world.sam)[0]
    assert "amount , due , tags ." in latest.body and "Note: []" in latest.body


def test_a35_masked_fields_are_never_rendered(world: World) -> None:
    record = world.incident(owner=world.ben.id)
    world.send("incident_update", ["owner", "actor"], record)
    (ben,) = world.inbox(world.ben)
    (sam,) = world.inbox(world.sam)
    assert "Note: []" in ben.body and SECRET not in ben.body
    assert f"Note: [{SECRET}]" in sam.body
    (mail,) = world.mail_to("ben@acme.test")
    assert SECRET not in mail["text"] and SECRET not in mail["html"]
    # a user who may not read the record at all sees none of it, not even its title
    nina = actor_for(world.engine, world.portal, "nina@globex.test")
    world.send("incident_update", ["actor"], record, nina)
    (seen,) = world.inbox(nina)
    assert seen.subject == "Update:" and "Printer on fire" not in seen.body


def test_a35_html_part_escapes_template_output(world: World) -> None:
    record = world.incident(title='<img src=x onerror="alert(1)"> & co')
    world.send("incident_update", ["actor"], record)
    (mail,) = world.mails()
    assert "<img" not in mail["html"]
    assert '&lt;img src=x onerror="alert(1)"&gt; &amp; co' in mail["html"]
    assert mail["text"].count("<img src=x") == 1  # the text part is plain text, unchanged
    html = mail_body.mail_html("S", "see https://x.test/a?b=1&c=2. and javascript:alert(1)", "de")
    assert '<a href="https://x.test/a?b=1&amp;c=2" style="color:#0b5fff">' in html
    assert 'href="javascript' not in html and '<html lang="de">' in html


def test_a35_in_app_and_email_switches(world: World) -> None:
    record = world.incident(owner=world.ben.id)
    assert world.send("incident_quiet", ["owner"], record) == 1
    assert [n.subject for n in world.inbox(world.ben)] == ["Quiet: Printer on fire"]
    assert world.mails() == []
    assert world.send("incident_mail_only", ["owner"], record) == 1
    assert len(world.inbox(world.ben)) == 1
    assert [m["subject"] for m in world.mails()] == ["Mail: Printer on fire"]


def test_a35_email_preferences_are_respected(world: World) -> None:
    slug, ben = world.portal.slug, world.ben
    assert ben.id is not None
    with begin_write(world.engine) as conn:
        assert notify.get_prefs(conn, portal=slug, user_id=ben.id) == {}
        notify.set_pref(conn, portal=slug, user_id=ben.id, kind="incident_update", email=False)
        notify.set_pref(conn, portal=slug, user_id=ben.id, kind="incident_quiet", email=True)
    record = world.incident(owner=ben.id)
    world.send("incident_update", ["role:customer"], record)
    assert [m["to"] for m in world.mails()] == ["anna@acme.test", "lena@acme.test"]
    assert len(world.inbox(ben)) == 1  # the bell still shows it
    with begin_write(world.engine) as conn:
        prefs = notify.get_prefs(conn, portal=slug, user_id=ben.id)
        assert prefs == {"incident_update": False, "incident_quiet": True}
        notify.set_pref(conn, portal=slug, user_id=ben.id, kind="incident_update", email=True)
    world.send("incident_update", ["owner"], record)
    assert [m["to"] for m in world.mails()] == ["anna@acme.test", "lena@acme.test", "ben@acme.test"]


def test_a35_inbox_count_list_and_mark_read(world: World) -> None:
    slug, ben, anna = world.portal.slug, world.ben, world.anna
    assert ben.id is not None and anna.id is not None
    for title in ("one", "two", "three"):
        world.send("incident_quiet", ["role:customer"], world.incident(title=title))
    with begin_write(world.engine) as conn:
        assert notify.unread_count(conn, portal=slug, user_id=ben.id) == 3
        newest = notify.list_for(conn, portal=slug, user_id=ben.id, limit=2)
        assert [n.subject for n in newest] == ["Quiet: three", "Quiet: two"]
        older = notify.list_for(conn, portal=slug, user_id=ben.id, limit=2, offset=2)
        assert [n.subject for n in older] == ["Quiet: one"]
        assert notify.count_for(conn, portal=slug, user_id=ben.id) == 3
        annas = notify.list_for(conn, portal=slug, user_id=anna.id)
        # another user's ids change nothing and read as absent
        assert notify.mark_read(conn, portal=slug, user_id=ben.id, ids=[annas[0].id]) == 0
        assert notify.get(conn, portal=slug, user_id=ben.id, notification_id=annas[0].id) is None
        assert notify.mark_read(conn, portal=slug, user_id=ben.id, ids=[newest[0].id]) == 1
        assert notify.mark_read(conn, portal=slug, user_id=ben.id, ids=[newest[0].id]) == 0
        assert notify.mark_read(conn, portal=slug, user_id=ben.id, ids=[]) == 0
        assert notify.unread_count(conn, portal=slug, user_id=ben.id) == 2
        one = notify.get(conn, portal=slug, user_id=ben.id, notification_id=newest[0].id)
        assert one is not None and not one.unread and one.read_at is not None
        assert notify.mark_read(conn, portal=slug, user_id=ben.id) == 2
        assert notify.unread_count(conn, portal=slug, user_id=ben.id) == 0
        assert notify.unread_count(conn, portal=slug, user_id=anna.id) == 3


# -- R6: a failing notification undoes the write ----------------------------------------------
def test_a35_render_failure_rolls_the_write_back(world: World) -> None:
    entity = world.store.entity("incident")
    table = world.portal.tables["incident"]
    before = world.inbox(world.ben)
    good = Action("notify", template="incident_update", to=("role:customer",))
    bad = Action("notify", template="sandbox_repeat", to=("role:customer",))
    with pytest.raises(notify.NotificationFailed) as caught:
        with begin_write(world.engine) as conn:
            created = world.store.insert(
                world.sam, "incident", {"title": "Doomed", "account": world.acme}, conn=conn
            )
            record = world.store.load_raw(conn, entity, created.id)
            actions.run_effects(
                world.store, conn, (good, bad), entity=entity, record=record,
                actor=world.sam, where="test", trigger="create",
            )  # fmt: skip
    assert "sandbox_repeat" in str(caught.value)
    with world.engine.connect() as conn:
        assert conn.execute(sa.select(table.c.id).where(table.c.title == "Doomed")).first() is None
        assert conn.execute(sa.select(sa.func.count()).select_from(notifications)).scalar() == 0
    assert world.inbox(world.ben) == before and world.mails() == []


# -- B.13 / A.35: the sandbox -------------------------------------------------------------------
def test_sandbox_b13_internals_render_as_nothing(world: World) -> None:
    record = world.incident()
    world.send("sandbox_class", ["actor"], record)
    (note,) = world.inbox(world.sam)
    assert note.subject == "xy"
    assert note.body == "[][][]"
    # str.format cannot reach attributes either (SECURITY B.4 through templates)
    world.send("sandbox_format", ["actor"], record)
    assert world.inbox(world.sam)[0].body == ""


@pytest.mark.parametrize(
    "template",
    [
        "sandbox_mro",
        "sandbox_globals",
        "sandbox_subclasses",
        "sandbox_repeat",
        "sandbox_power",
        "sandbox_mutate",
    ],
)
def test_sandbox_b13_escapes_budgets_and_mutation_fail_cleanly(world: World, template: str) -> None:
    record = world.incident()
    with pytest.raises(notify.NotificationFailed, match=template):
        world.send(template, ["actor"], record)
    assert world.inbox(world.sam) == [] and world.mails() == []
    with world.engine.connect() as conn:
        title = world.store.load_raw(conn, world.store.entity("incident"), record["id"])["title"]
    assert title == "Printer on fire"

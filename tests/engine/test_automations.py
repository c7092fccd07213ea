"""Record-triggered automations on SQLite and PostgreSQL: `on: create | update | delete |
transition:<name>` with `when` conditions (seeing `before` on updates), their `set`, `create`,
`notify` and `webhook` actions run by the system on behalf of the user, chains bounded by
depth, and failures that undo the triggering write (R6)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from portalis.engine.data import audit
from portalis.engine.data.errors import Forbidden
from portalis.engine.data.events import MAX_EVENT_DEPTH
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.data.system_tables import audit as audit_table
from portalis.engine.data.system_tables import jobs as jobs_table
from portalis.engine.data.system_tables import notifications
from portalis.engine.definition.values import frozen_map
from portalis.engine.deploy.validator import Checker
from portalis.engine.flow import workflow
from portalis.engine.flow.automations import AutomationFailed
from portalis.engine.outbox.webhooks import handle_webhook, verify_signature
from portalis.engine.outbox.worker import Worker
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import actor_for, deploy_text
from portalis.testing.webhooks import LOOPBACK_POLICY, webhook_receiver

SLUG = "auto-test"
HOOK = "http://127.0.0.1:9/hook"

#: Customers own their tickets; notes are written by automations only (customers cannot).
DEFINITION = """
format: portalis/v1
portal: auto-test
title: Automations
locales: [en]
roles:
  customer: {}
  agent: {staff: true}
entities:
  ticket:
    title_field: subject
    fields:
      subject: {type: string, required: true, max_length: 200}
      priority: {type: choice, options: [low, normal, urgent], default: normal}
      escalated: {type: bool, readonly: true}
      hits: {type: int, readonly: true}
      status: {type: choice, options: [open, closed], default: open}
    permissions:
      - {roles: [customer], actions: [read, create, update, delete, transition], scope: own}
      - {roles: [agent], actions: [read, create, update, delete, transition], scope: all}
  note:
    fields:
      ticket: {type: ref, to: ticket}
      text: {type: text, required: true}
    permissions:
      - {roles: [agent], actions: [read], scope: all}
workflows:
  flow:
    entity: ticket
    field: status
    initial: open
    transitions:
      - {name: close, from: open, to: closed, roles: [customer, agent]}
      - {name: reopen, from: closed, to: open, roles: [agent]}
notifications:
  urgent_ticket:
    subject: "Urgent: {{ record.subject }}"
    body: "{{ actor.name }} opened {{ record.subject }}."
seed: [seed.yaml]
"""

SEED = """
accounts:
  - {key: acme, name: Acme}
users:
  - {email: cara@acme.test, name: Cara Customer, password: "correct horse 42", account: acme, roles: [customer]}
  - {email: sam@support.test, name: Sam Agent, password: "correct horse 43", roles: [agent]}
"""


@dataclass
class World:
    engine: sa.Engine
    portal: CompiledPortal
    store: RecordStore
    cara: Actor
    sam: Actor

    def ticket(self, actor: Actor | None = None, **values: Any) -> int:
        return self.store.insert(actor or self.cara, "ticket", {"subject": "Printer", **values}).id

    def raw(self, record_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return self.store.load_raw(conn, self.store.entity("ticket"), record_id)

    def rows(self, table: sa.Table, **where: Any) -> list[dict[str, Any]]:
        query = sa.select(table).order_by(table.c.id)
        for name, value in where.items():
            query = query.where(table.c[name] == value)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def notes(self) -> list[dict[str, Any]]:
        return self.rows(self.portal.tables["note"])

    def jobs(self, kind: str = "webhook") -> list[dict[str, Any]]:
        return self.rows(jobs_table, kind=kind)

    def history(self, entity: str, record_id: int) -> list[audit.AuditEntry]:
        with self.engine.connect() as conn:
            return audit.history(conn, portal=SLUG, entity=entity, record_id=record_id)

    def count(self, table: sa.Table) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def build(engine: sa.Engine, checker: Checker, tmp_path: Path, automations: str) -> World:
    """Deploy the definition with `automations` (YAML of the section's body)."""
    body = "".join(f"  {line}\n" for line in automations.split("\n"))
    portal = deploy_text(
        engine, checker, tmp_path / "portal", f"{DEFINITION}automations:\n{body}", SEED
    )
    return World(
        engine,
        portal,
        portal.store(engine),
        actor_for(engine, portal, "cara@acme.test").with_ip("198.51.100.4"),
        actor_for(engine, portal, "sam@support.test"),
    )


#: Deploys the definition with these automations; see `build`.
Deploy = Callable[[str], World]

URGENT = f"""\
urgent:
  entity: ticket
  on: create
  when: "record['priority'] == 'urgent'"
  actions:
    - set: {{escalated: true}}
    - create: {{entity: note, values: {{ticket: {{expr: "record['id']"}}, text: "Escalated"}}}}
    - webhook: {{url: "{HOOK}", secret: s3cret}}"""


@pytest.fixture
def deploy(db_engine: sa.Engine, portalis_checker: Checker, tmp_path: Path) -> Deploy:
    """Deploys the definition with the given automations (once per test)."""
    return partial(build, db_engine, portalis_checker, tmp_path)


@pytest.fixture
def urgent(deploy: Deploy) -> World:
    return deploy(URGENT)


# -- on: create ---------------------------------------------------------------------------------
def test_on_create_runs_its_actions_when_the_condition_holds(urgent: World) -> None:
    w = urgent
    calm = w.ticket(priority="normal")
    assert not w.raw(calm)["escalated"] and w.notes() == [] and w.jobs() == []
    hot = w.ticket(priority="urgent")
    assert w.raw(hot)["escalated"] is True
    (note,) = w.notes()
    assert (note["ticket"], note["text"]) == (hot, "Escalated")
    (job,) = w.jobs()
    assert job["portal"] == SLUG and job["payload"]["url"] == HOOK
    assert job["payload"]["event"] == "ticket.create"
    body = job["payload"]["body"]
    assert body["record"]["id"] == hot and body["record"]["escalated"] is True  # after the set
    assert body["actor"] == {"id": w.cara.id, "email": "cara@acme.test"}


def test_set_action_is_one_system_update_in_the_audit_log(urgent: World) -> None:
    w = urgent
    hot = w.ticket(priority="urgent")
    change, created = w.history("ticket", hot)
    assert created.action == "create" and created.actor_id == w.cara.id
    assert change.action == "update"
    assert change.changes == {"escalated": [None, True]}
    assert change.detail == {"via": "automation urgent"}
    # the system acted, on behalf of the user whose write triggered it
    assert (change.actor_id, change.actor_email, change.ip) == (
        w.cara.id,
        "cara@acme.test",
        "198.51.100.4",
    )
    assert w.raw(hot)["version"] == 2


def test_create_action_creates_a_record_as_the_system_on_behalf_of_the_user(
    urgent: World,
) -> None:
    w = urgent
    with pytest.raises(Forbidden):  # the customer may not write notes herself
        w.store.insert(w.cara, "note", {"ticket": w.ticket(), "text": "mine"})
    hot = w.ticket(priority="urgent")
    (note,) = w.notes()
    assert note["created_by"] == w.cara.id
    (entry,) = w.history("note", note["id"])
    assert entry.action == "create" and entry.actor_id == w.cara.id
    assert entry.detail == {"via": "automation urgent"}
    assert entry.changes["ticket"] == [None, hot]


def test_webhook_of_an_automation_is_delivered_signed(
    deploy: Deploy,
) -> None:
    with webhook_receiver() as hooks:
        w = deploy(URGENT.replace(HOOK, hooks.url("/crm")))
        hot = w.ticket(priority="urgent")
        assert (
            Worker(
                w.engine,
                {"webhook": partial(handle_webhook, policy=LOOPBACK_POLICY)},
                poll_seconds=0,
            ).drain()
            == 1
        )
        (request,) = hooks.to("/crm")
    assert request.header("X-Portalis-Event") == "ticket.create"
    assert verify_signature("s3cret", request.body, request.header("X-Portalis-Signature") or "")
    assert request.json["record"]["id"] == hot and request.json["entity"] == "ticket"


def test_notify_action_reaches_the_staff_role(
    deploy: Deploy,
) -> None:
    w = deploy(
        """\
tell_agents:
  entity: ticket
  on: create
  when: "record['priority'] == 'urgent'"
  actions: [{notify: {template: urgent_ticket, to: ["role:agent"]}}]""",
    )
    w.ticket(priority="low")
    assert w.rows(notifications) == []
    hot = w.ticket(subject="Server down", priority="urgent")
    (bell,) = w.rows(notifications)
    assert (bell["user_id"], bell["entity"], bell["record_id"]) == (w.sam.id, "ticket", hot)
    assert bell["subject"] == "Urgent: Server down"
    assert bell["body"] == "Cara Customer opened Server down."
    (mail,) = w.jobs("mail")
    assert mail["payload"]["to"] == "sam@support.test"


# -- on: update ---------------------------------------------------------------------------------
RAISED = f"""\
raised:
  entity: ticket
  on: update
  when: "before['priority'] != record['priority'] and record['priority'] == 'urgent'"
  actions:
    - set: {{hits: {{expr: "(record['hits'] or 0) + 1"}}}}
    - webhook: {{url: "{HOOK}", event: ticket.priority_raised}}"""


def test_on_update_conditions_see_the_record_before_the_update(
    deploy: Deploy,
) -> None:
    w = deploy(RAISED)
    t = w.ticket(priority="low")  # a create is no update
    w.store.update(w.sam, "ticket", t, {"subject": "Printer jammed"})
    assert w.raw(t)["hits"] is None and w.jobs() == []
    w.store.update(w.sam, "ticket", t, {"priority": "urgent"})
    assert w.raw(t)["hits"] == 1
    (job,) = w.jobs()
    assert job["payload"]["event"] == "ticket.priority_raised"
    assert job["payload"]["body"]["record"]["priority"] == "urgent"
    # still urgent, but not raised by this update
    w.store.update(w.sam, "ticket", t, {"subject": "Printer on fire"})
    w.store.update(w.sam, "ticket", t, {"priority": "urgent"})  # a save that changes nothing
    assert w.raw(t)["hits"] == 1 and len(w.jobs()) == 1


def test_update_automations_do_not_fire_on_transitions_nor_disabled_ones(
    deploy: Deploy,
) -> None:
    w = deploy(
        f"""\
any_update:
  entity: ticket
  on: update
  actions: [{{webhook: {{url: "{HOOK}", event: updated}}}}]
switched_off:
  entity: ticket
  on: create
  enabled: false
  actions: [{{webhook: {{url: "{HOOK}", event: never}}}}]""",
    )
    t = w.ticket()
    workflow.transition(w.store, w.sam, "ticket", t, "close")
    assert w.jobs() == []
    w.store.update(w.sam, "ticket", t, {"subject": "Renamed"})
    assert [j["payload"]["event"] for j in w.jobs()] == ["updated"]


# -- on: transition:<name> ----------------------------------------------------------------------
def test_on_transition_fires_for_its_transition_only(
    deploy: Deploy,
) -> None:
    w = deploy(
        f"""\
closed:
  entity: ticket
  on: transition:close
  when: "record['priority'] != 'low'"
  actions:
    - set: {{hits: 100}}
    - webhook: {{url: "{HOOK}"}}""",
    )
    low, normal = w.ticket(priority="low"), w.ticket(priority="normal")
    workflow.transition(w.store, w.cara, "ticket", low, "close")
    assert w.raw(low)["hits"] is None and w.jobs() == []
    workflow.transition(w.store, w.cara, "ticket", normal, "close")
    after = w.raw(normal)
    assert (after["status"], after["hits"]) == ("closed", 100)
    (job,) = w.jobs()
    assert job["payload"]["event"] == "ticket.close"
    workflow.transition(w.store, w.sam, "ticket", normal, "reopen")  # another transition
    assert len(w.jobs()) == 1
    change = w.history("ticket", normal)[1]  # newest first: reopen, the automation's set, close
    assert change.detail == {"via": "automation closed"} and change.actor_id == w.cara.id


# -- on: delete ---------------------------------------------------------------------------------
def test_on_delete_sends_the_deleted_record(
    deploy: Deploy,
) -> None:
    w = deploy(
        f"""\
gone:
  entity: ticket
  on: delete
  when: "record['priority'] == 'urgent'"
  actions: [{{webhook: {{url: "{HOOK}", event: ticket.deleted}}}}]""",
    )
    calm, hot = w.ticket(priority="normal"), w.ticket(subject="Outage", priority="urgent")
    w.store.delete(w.cara, "ticket", calm)
    assert w.jobs() == []
    w.store.delete(w.cara, "ticket", hot)
    (job,) = w.jobs()
    assert job["payload"]["event"] == "ticket.deleted"
    assert job["payload"]["body"]["record"]["subject"] == "Outage"


def test_set_on_delete_is_refused_clearly_and_nothing_is_deleted(urgent: World) -> None:
    # the semantic checks refuse this definition; a model built otherwise must not crash
    w = urgent
    automation = w.portal.model.automations["urgent"]
    odd = replace(automation, trigger="delete", when=None)
    model = replace(w.portal.model, automations=frozen_map({"urgent": odd}))
    store = replace(w.portal, model=model).store(w.engine)
    t = w.ticket()
    with pytest.raises(AutomationFailed) as failed:
        store.delete(w.cara, "ticket", t)
    assert "set is not possible here" in str(failed.value)
    assert w.raw(t)["subject"] == "Printer"


# -- failures (R6) and chains -------------------------------------------------------------------
def test_r6_automation_failure_rolls_back_the_triggering_write(
    deploy: Deploy,
) -> None:
    w = deploy(
        f"""\
broken:
  entity: ticket
  on: create
  when: "record['priority'] == 'urgent'"
  actions:
    - webhook: {{url: "{HOOK}"}}
    - set: {{escalated: true}}
    - create: {{entity: note, values: {{ticket: {{expr: "record['id']"}}}}}}""",
    )
    audit_rows, tickets = w.count(audit_table), w.count(w.portal.tables["ticket"])
    with pytest.raises(AutomationFailed) as failed:
        w.ticket(priority="urgent")
    error = failed.value
    assert error.automation == "broken" and error.errors["__all__"][0].code == "automation-failed"
    assert "automation broken failed" in str(error) and "text" in str(error)
    # nothing of the write, its automation's set, audit entries or queued webhook remains
    assert w.count(w.portal.tables["ticket"]) == tickets and w.notes() == []
    assert w.count(audit_table) == audit_rows and w.jobs() == []
    w.ticket(priority="low")  # writes the condition does not select still work
    assert w.count(w.portal.tables["ticket"]) == tickets + 1


def test_r6_automation_condition_that_cannot_be_evaluated_blocks_the_write(
    deploy: Deploy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    w = deploy(
        f"""\
sloppy:
  entity: ticket
  on: update
  when: "record['hits'] + 1 > 1"
  actions: [{{webhook: {{url: "{HOOK}"}}}}]""",
    )
    t = w.ticket()
    before = w.raw(t)
    with pytest.raises(AutomationFailed) as failed:
        w.store.update(w.sam, "ticket", t, {"subject": "Changed"})
    assert failed.value.errors["__all__"][0].code == "automation-condition"
    assert "automation sloppy: its condition could not be evaluated" in str(failed.value)
    assert w.raw(t) == before and w.jobs() == []
    assert "automation sloppy: condition" in caplog.text and "refusing the write" in caplog.text


def test_chain_depth_stops_with_a_clear_error(
    deploy: Deploy,
) -> None:
    w = deploy(
        """\
counter:
  entity: ticket
  on: update
  actions: [{set: {hits: {expr: "(record['hits'] or 0) + 1"}}}]""",
    )
    t = w.ticket()
    before, audit_rows = w.raw(t), w.count(audit_table)
    with pytest.raises(AutomationFailed) as failed:
        w.store.update(w.sam, "ticket", t, {"subject": "Loop"})
    message = str(failed.value)
    assert "automation counter failed" in message
    assert f"more than {MAX_EVENT_DEPTH} levels deep" in message
    assert w.raw(t) == before and w.count(audit_table) == audit_rows


def test_a_chain_that_settles_ends_by_itself(
    deploy: Deploy,
) -> None:
    # setting what is already set changes nothing, so the next update fires nothing
    w = deploy(
        """\
flag:
  entity: ticket
  on: update
  actions: [{set: {escalated: true}}]
note_it:
  entity: ticket
  on: update
  when: "record['escalated'] and not before['escalated']"
  actions: [{create: {entity: note, values: {ticket: {expr: "record['id']"}, text: flagged}}}]""",
    )
    t = w.ticket()
    w.store.update(w.cara, "ticket", t, {"subject": "Again"})
    assert w.raw(t)["escalated"] is True
    assert [n["text"] for n in w.notes()] == ["flagged"]
    actions = [(e.action, e.detail.get("via")) for e in reversed(w.history("ticket", t))]
    assert actions[:3] == [
        ("create", None),
        ("update", None),
        ("update", "automation flag"),
    ]
    json.dumps([e.to_json() for e in w.history("ticket", t)])

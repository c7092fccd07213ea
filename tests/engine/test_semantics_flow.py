"""Semantic checks of workflows extras, timers, actions, automations, notifications, rollups,
virtual fields and expression defaults — what the one-problem gallery format cannot express:
definitions that must stay silent, several sites of one check, and the reference examples."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.definition.loader import load
from portalis.engine.definition.semantics.notify import cron_problem, template_record_keys
from portalis.engine.definition.yamlsource import parse_text
from portalis.engine.deploy.validator import Checked, Checker
from portalis.engine.docs.examples import EXAMPLES
from portalis.engine.plugins import make_plugin_manager
from portalis.engine.problems import Problem, Severity
from portalis.testing.portals import installed_checker, without_starter_invoices

ROOT = Path(__file__).resolve().parents[2]
#: The codes of this module's checks (a definition that must stay silent has none of them).
FLOW_CODES = {
    "workflow-assignee", "timer-transition", "timer-action", "timer-duplicate",
    "action-field-state", "action-field-derived", "action-value", "action-create-required",
    "ref-unknown-notification", "recipient-unknown", "webhook-url", "automation-entity",
    "automation-transition", "automation-cron", "automation-before", "automation-no-record",
    "automation-no-actor", "notification-locale", "notification-unused", "template-field",
    "rollup-via", "rollup-type", "rollup-where", "rollup-cycle", "field-derived",
    "virtual-not-queryable",
}  # fmt: skip


@cache
def checker() -> Checker:
    return Checker(make_plugin_manager(load_entrypoints=False))


def base() -> dict[str, Any]:
    """A small valid portal with a workflow, children to roll up and a notification."""
    return {
        "format": "portalis/v1",
        "portal": "flow",
        "title": "Flow",
        "locales": ["en", "de"],
        "roles": {
            "customer": {"label": "Customer"},
            "agent": {"label": "Agent", "staff": True},
            "manager": {"label": "Manager", "staff": True},
        },
        "entities": {
            "ticket": {
                "title_field": "subject",
                "fields": {
                    "subject": {"type": "string", "required": True},
                    "account": {"type": "ref", "to": "account", "required": True},
                    "assignee": {"type": "ref", "to": "user"},
                    "priority": {"type": "choice", "options": ["normal", "urgent"]},
                    "amount": {"type": "money"},
                    "due": {"type": "date"},
                    "status": {"type": "choice", "options": ["open", "closed"]},
                },
                "permissions": [{"roles": ["agent"], "actions": ["read"], "scope": "all"}],
            },
            "message": {
                "fields": {
                    "ticket": {"type": "ref", "to": "ticket", "required": True},
                    "text": {"type": "text", "required": True},
                    "minutes": {"type": "int"},
                    "sent": {"type": "date"},
                },
            },
        },
        "workflows": {
            "flow": {
                "entity": "ticket",
                "field": "status",
                "initial": "open",
                "transitions": [
                    {"name": "close", "from": "open", "to": "closed", "roles": ["agent"]},
                    {"name": "reopen", "from": "closed", "to": "open", "roles": ["agent"]},
                ],
            }
        },
        "pages": {
            "tickets": {
                "route": "/tickets",
                "blocks": [
                    {"list": {"entity": "ticket", "columns": ["subject"], "link": "ticket"}}
                ],
            },
            "ticket": {"route": "/tickets/<id>", "blocks": [{"detail": {"entity": "ticket"}}]},
        },
        "notifications": {
            "closed": {
                "link": "ticket",
                "subject": {"en": "Closed: {{ record.subject }}", "de": "Zu: {{ record.subject }}"},
                "body": "{{ link }}",
            }
        },
    }


def check(data: dict[str, Any], env: dict[str, str] | None = None) -> Checked:
    # JSON is YAML: the loader reads it with positions like any definition file
    bundle = Bundle.of({"portal.yaml": json.dumps(data, indent=1)})
    return checker().check_bundle(bundle, env)


def found(data: dict[str, Any], env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(code, path) of every problem of this module's checks."""
    return [(p.code, p.path_text) for p in check(data, env).report.problems if p.code in FLOW_CODES]


def problems(data: dict[str, Any], code: str) -> list[Problem]:
    return [p for p in check(data).report.problems if p.code == code]


def with_actions(data: dict[str, Any], actions: list[Any], **automation: Any) -> dict[str, Any]:
    spec = {"entity": "ticket", "on": "create", **automation, "actions": actions}
    data.setdefault("automations", {})["auto"] = spec
    return data


def sent(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with the notification sent on close (so it is not unused)."""
    data["workflows"]["flow"]["transitions"][0]["actions"] = [
        {"notify": {"template": "closed", "to": ["creator"]}}
    ]
    return data


# -- silence where everything is right ------------------------------------------------------
def test_valid_living_definition_is_silent_and_compiles() -> None:
    data = sent(base())
    ticket = data["entities"]["ticket"]["fields"]
    ticket["messages"] = {"type": "int", "rollup": "count", "of": "message", "via": "ticket"}
    ticket["minutes"] = {
        "type": "decimal",
        "rollup": "sum",
        "of": "message.minutes",
        "via": "ticket",
    }
    ticket["last"] = {"type": "date", "rollup": "max", "of": "message.sent", "via": "ticket"}
    ticket["age"] = {"type": "int", "compute": "days_since(record['created_at'])", "stored": False}
    ticket["opened"] = {"type": "date", "default": {"expr": "today()"}}
    data["pages"]["tickets"]["blocks"][0]["list"]["columns"] = ["subject", "age", "messages"]
    data["workflows"]["flow"]["timers"] = [
        {"state": "open", "after": "3d", "transition": "close"},
        {"state": "closed", "after": "1w", "actions": [{"set": {"priority": "normal"}}]},
    ]
    with_actions(
        data,
        [
            {"set": {"priority": "urgent", "assignee": None}},
            {
                "create": {
                    "entity": "message",
                    "values": {"ticket": {"expr": "record['id']"}, "text": "Hi"},
                }
            },
            {
                "notify": {
                    "template": "closed",
                    "to": ["creator", "actor", "assignee", "role:agent"],
                }
            },
            {"webhook": {"url": "https://hooks.example.com/p?x=1"}},
        ],
        on="update",
        when="before is not None and record['priority'] != before['priority']",
    )
    data["automations"]["weekly"] = {
        "entity": "ticket",
        "on": {"schedule": "*/15 8-18 * * mon-fri"},
        "when": "record['status'] == 'open'",
        "actions": [{"notify": {"template": "closed", "to": ["assignee", "role:agent"]}}],
    }
    data["automations"]["digest"] = {
        "on": {"schedule": "0 7 1 * *"},
        "actions": [{"webhook": {"url": "${DIGEST_URL}"}}],
    }
    checked = check(data)
    assert [p.format() for p in checked.report.problems] == []
    assert checked.model is not None
    assert checked.model.automations["weekly"].cron == "*/15 8-18 * * mon-fri"


def test_b2c_blueprint_has_no_flow_problems() -> None:
    bundle, _ = read_bundle(ROOT / "blueprints" / "b2c")
    checked = checker().check_bundle(bundle, {})
    assert [p.format() for p in checked.report.problems if p.code in FLOW_CODES] == []


def _merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    """Mappings merge key by key; a list of named mappings (transitions, blocks …) is extended,
    an item replacing the one of the same name; any other value replaces the one in `into`."""
    for key, value in part.items():
        old = into.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            _merge(old, value)
        elif _named_items(value) and _named_items(old):
            names = {item["name"] for item in value if "name" in item}
            kept = [item for item in old if item.get("name") not in names or "name" not in item]
            into[key] = kept + copy.deepcopy(value)
        else:
            into[key] = copy.deepcopy(value)


def _named_items(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(i, dict) for i in value)


#: What the reference's examples presuppose beyond the starter blueprint they are shown in: a
#: manager role, refunds and a resolution date on tickets, messages with a `text` (not a `body`).
REFERENCE_CONTEXT = """
roles:
  manager: {label: Manager, staff: true}
entities:
  ticket:
    fields:
      status:
        options: [open, in_progress, resolved, refunded, closed]
      resolved_on: {type: date, readonly: true}
      resolution: {type: text}
      escalated: {type: bool, default: false, readonly: true}
  message:
    fields:
      text: {type: text}
      body: {required: false}
workflows:
  ticket_flow:
    transitions:
      - {name: refund, from: resolved, to: refunded, roles: [agent]}
notifications:
  ticket_closed: {subject: Closed, body: "{{ link }}", link: ticket}
"""


def test_reference_examples_validate_together() -> None:
    """Every example of the reference is part of one definition without a single problem: the
    starter blueprint the examples are shown in, with what they presuppose of it."""
    bundle, problems = read_bundle(ROOT / "blueprints" / "b2c")
    assert problems == []
    raw, report = load(bundle, None)
    assert report.ok, [p.format() for p in report.problems]
    data = copy.deepcopy(raw.data)
    includes = data.pop("include", [])
    files = {
        path: text
        for path, text in bundle.files.items()
        if path != "portal.yaml" and not any(PurePosixPath(path).match(p) for p in includes)
    }
    # the reference's invoices are not the starter's (which the sandbox provider pays)
    without_starter_invoices(data, files)
    context = parse_text(REFERENCE_CONTEXT, "context.yaml")
    _merge(data, context.data)
    for examples in EXAMPLES.values():
        for example in examples:
            # the portal's own YAML reader: `on:` stays a string key
            parsed = parse_text(example.yaml, "example.yaml")
            assert parsed.problems == [], example.caption
            _merge(data, parsed.data)
    files["portal.yaml"] = json.dumps(data, indent=1, default=str)
    # the installed plugins: the payments example's provider type is the sandbox plugin's
    checked = installed_checker().check_bundle(Bundle.of(files), None)
    # the examples give their texts in two of the starter's four languages, for brevity
    problems = [p for p in checked.report.problems if p.code != "translation-missing"]
    assert [p.format() for p in problems] == []
    assert checked.model is not None
    assert {"welcome", "closed_survey", "weekly_reminder", "urgent_escalation"} <= set(
        checked.model.automations
    )


# -- transitions and timers -------------------------------------------------------------------
def test_assignee_field_must_be_ref_to_user() -> None:
    data = sent(base())
    data["workflows"]["flow"]["transitions"][1]["assignee_field"] = "asignee"
    assert found(data) == [("workflow-assignee", "workflows.flow.transitions[1].assignee_field")]
    assert "did you mean 'assignee'?" in problems(data, "workflow-assignee")[0].hint


@pytest.mark.parametrize(
    ("timer", "expected"),
    [
        ({"state": "open", "after": "1d"}, [("timer-action", "workflows.flow.timers[0]")]),
        ({"state": "open", "after": "1d", "transition": "reopen"}, [("timer-transition", "workflows.flow.timers[0].transition")]),
        ({"state": "open", "after": "1d", "transition": "nope"}, [("timer-transition", "workflows.flow.timers[0].transition")]),
        ({"state": "open", "after": "1d", "actions": [{"set": {"status": "closed"}}]}, [("action-field-state", "workflows.flow.timers[0].actions[0].set.status")]),
        ({"state": "open", "after": "1d", "actions": [{"set": {"subject": "x"}}], "when": "record['due'] is None"}, []),
    ],
)  # fmt: skip
def test_timer_problems(timer: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    data = sent(base())
    data["workflows"]["flow"]["timers"] = [timer]
    assert found(data) == expected


def test_named_timers_with_one_name_are_duplicates_and_unnamed_distinct_ones_are_not() -> None:
    data = sent(base())
    close = {"state": "open", "after": "1d", "transition": "close"}
    data["workflows"]["flow"]["timers"] = [
        {**close, "name": "sla"},
        {**close, "after": "2d"},  # open_2d
        {**close, "name": "sla", "after": "3d"},
    ]
    assert found(data) == [("timer-duplicate", "workflows.flow.timers[2].name")]


def test_set_system_column_is_an_unknown_field() -> None:
    data = sent(base())
    data["workflows"]["flow"]["timers"] = [
        {"state": "open", "after": "1d", "actions": [{"set": {"created_at": None}}]}
    ]
    (problem,) = problems(data, "ref-unknown-field")
    assert "system column" in problem.message


# -- actions ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ({"set": {"subject": None}}, "action-value"),  # required
        ({"set": {"due": "31.12.2026"}}, "action-value"),
        ({"set": {"amount": "lots"}}, "action-value"),
        ({"create": {"entity": "ticket", "values": {"subject": "x", "account": 1, "status": "closed"}}}, "action-field-state"),
        ({"create": {"entity": "tickets", "values": {}}}, "ref-unknown-entity"),
        ({"create": {"entity": "message", "values": {"ticket": {"expr": "record['id']"}}}}, "action-create-required"),
        ({"notify": {"template": "closd", "to": ["creator"]}}, "ref-unknown-notification"),
        ({"notify": {"template": "closed", "to": ["role:anonymous"]}}, "recipient-unknown"),
        ({"notify": {"template": "closed", "to": ["subject"]}}, "recipient-unknown"),
        ({"webhook": {"url": "https://"}}, "webhook-url"),
        ({"webhook": {"url": "http:// hooks.example.com"}}, "webhook-url"),
    ],
)  # fmt: skip
def test_action_problems(action: dict[str, Any], expected: str) -> None:
    data = with_actions(sent(base()), [action])
    codes = {code for code, _ in found(data)}
    codes |= {p.code for p in check(data).report.problems if p.code == "ref-unknown-entity"}
    assert codes == {expected}


def test_create_does_not_ask_for_state_fields_derived_or_defaulted_fields() -> None:
    data = sent(base())
    fields = data["entities"]["ticket"]["fields"]
    fields["status"]["required"] = True  # the workflow sets its initial state
    fields["n"] = {"type": "int", "required": True, "compute": "1"}
    fields["priority"].update(required=True, default="normal")
    with_actions(data, [{"create": {"entity": "ticket", "values": {"subject": "x", "account": 1}}}])
    assert found(data) == []


def test_webhook_url_is_checked_after_substitution_only() -> None:
    data = with_actions(sent(base()), [{"webhook": {"url": "${HOOK}"}}])
    assert found(data) == []  # no environment: the value is only known at deploy time
    assert found(data, {"HOOK": "https://hooks.example.com/x"}) == []


# -- automations ------------------------------------------------------------------------------
def test_unknown_automation_entity_is_the_only_problem() -> None:
    data = with_actions(sent(base()), [{"set": {"nothing": 1}}], entity="tiket")
    reported = [(p.code, p.path_text) for p in check(data).report.problems]
    assert reported == [("ref-unknown-entity", "automations.auto.entity")]


def test_transition_trigger_on_entity_without_workflow() -> None:
    data = with_actions(
        sent(base()), [{"set": {"minutes": 1}}], entity="message", on="transition:close"
    )
    (problem,) = problems(data, "automation-transition")
    assert "message has no workflow" in problem.message


@pytest.mark.parametrize(
    ("on", "when", "warned"),
    [("update", "before['amount'] != record['amount']", False), ("create", "before is None", True),
     ("delete", "before is None", True), ("transition:close", "before is None", True)],
)  # fmt: skip
def test_before_outside_update_is_a_warning(on: str, when: str, warned: bool) -> None:
    data = with_actions(
        sent(base()), [{"webhook": {"url": "https://h.example/"}}], on=on, when=when
    )
    warnings = problems(data, "automation-before")
    assert bool(warnings) is warned
    assert all(p.severity is Severity.WARNING for p in warnings)
    assert check(data).model is not None


def test_before_in_an_action_value_is_seen_too() -> None:
    action = {"set": {"priority": {"expr": "before['priority'] if before else 'normal'"}}}
    data = with_actions(sent(base()), [action])
    (problem,) = problems(data, "automation-before")
    assert problem.path_text == "automations.auto.actions[0].set.priority.expr"


def test_schedule_without_entity_has_no_record_and_no_actor() -> None:
    data = sent(base())
    data["automations"] = {
        "nightly": {
            "on": {"schedule": "0 2 * * *"},
            "when": "record is not None",
            "actions": [
                {"set": {"priority": "normal"}},
                {
                    "notify": {
                        "template": "closed",
                        "to": ["creator", "actor", "assignee", "role:agent"],
                    }
                },
            ],
        }
    }
    assert found(data) == [
        ("automation-no-record", "automations.nightly.when"),
        ("automation-no-record", "automations.nightly.actions[0].set"),
        ("automation-no-record", "automations.nightly.actions[1].notify.to[0]"),
        ("automation-no-actor", "automations.nightly.actions[1].notify.to[1]"),
        ("automation-no-record", "automations.nightly.actions[1].notify.to[2]"),
        ("template-field", "notifications.closed.subject.en"),
    ]


@pytest.mark.parametrize(
    "expression",
    [
        "0 8 * * 1",
        "*/15 * * * *",
        "0 8 * * mon-fri",
        "30 6 1,15 * *",
        "0 0 29 2 *",
        "0 12 * jan,jul sun",
    ],
)
def test_valid_cron_expressions(expression: str) -> None:
    assert cron_problem(expression) is None


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("60 8 * * *", "minute field '60'"),
        ("0 8 32 * *", "day of month field '32'"),
        ("0 8 * 13 *", "month field '13'"),
        ("0 8 * * 8", "day of week field '8'"),
        ("0 8 31 2 *", "never fires"),
        ("@daily", "1 fields"),
        ("0 0 8 * * *", "6 fields"),
        ("H 8 * * *", "minute field 'H'"),
    ],
)
def test_invalid_cron_expressions_name_the_field(expression: str, why: str) -> None:
    problem = cron_problem(expression)
    assert problem is not None and why in problem


# -- notifications ----------------------------------------------------------------------------
def test_notification_texts_missing_a_declared_locale_are_warned() -> None:
    data = sent(base())
    data["notifications"]["closed"]["subject"] = {"en": "Closed"}
    (problem,) = [
        p for p in problems(data, "translation-missing") if p.path_text.startswith("notif")
    ]
    assert problem.path_text == "notifications.closed.subject"
    assert problem.severity is Severity.WARNING


def test_template_fields_are_checked_against_every_sender() -> None:
    data = sent(base())
    data["notifications"]["closed"]["body"] = (
        "{{ record.amount_currency }} {{ record.get('x') }} {{ record['created_at'] }}"
    )
    assert found(data) == []  # a money field's currency column, a mapping method, a system column
    with_actions(data, [{"notify": {"template": "closed", "to": ["creator"]}}], entity="message")
    messages = sorted(p.message for p in problems(data, "template-field"))
    assert messages == [
        "record.amount_currency is empty: message has no field 'amount_currency'",
        "record.subject is empty: message has no field 'subject'",
    ]


def test_template_record_keys() -> None:
    assert template_record_keys("{{ record.a }}{{ record['b'] }}{{ record.get('c') }}") == {
        "a",
        "b",
    }
    assert template_record_keys("{{ record.a ") == set()


# -- rollups, virtual fields, defaults --------------------------------------------------------
def rollup(**spec: Any) -> dict[str, Any]:
    data = sent(base())
    data["entities"]["ticket"]["fields"]["r"] = spec
    return data


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"type": "string", "rollup": "count", "of": "message", "via": "ticket"}, ("rollup-type", "entities.ticket.fields.r.type")),
        ({"type": "int", "rollup": "sum", "of": "message", "via": "ticket"}, ("rollup-type", "entities.ticket.fields.r.of")),
        ({"type": "int", "rollup": "max", "of": "message.sent", "via": "ticket"}, ("rollup-type", "entities.ticket.fields.r.type")),
        ({"type": "money", "rollup": "sum", "of": "message.minutes", "via": "ticket"}, ("rollup-type", "entities.ticket.fields.r.type")),
        ({"type": "int", "rollup": "count", "of": "message", "via": "text"}, ("rollup-via", "entities.ticket.fields.r.via")),
        ({"type": "int", "rollup": "count", "of": "message", "via": "ticket", "where": {"txt": "a"}}, ("rollup-where", "entities.ticket.fields.r.where.txt")),
        ({"type": "int", "rollup": "count", "of": "message", "via": "ticket", "compute": "1"}, ("field-derived", "entities.ticket.fields.r.rollup")),
        ({"type": "int", "rollup": "count", "of": "message", "via": "ticket", "default": {"expr": "0"}}, ("field-derived", "entities.ticket.fields.r.default")),
    ],
)  # fmt: skip
def test_rollup_problems(spec: dict[str, Any], expected: tuple[str, str]) -> None:
    assert found(rollup(**spec)) == [expected]


def test_money_rollup_needs_one_currency() -> None:
    data = rollup(type="money", currency="USD", rollup="sum", of="ticket.amount", via="account")
    data["entities"]["account"] = {"fields": {"r": data["entities"]["ticket"]["fields"].pop("r")}}
    assert found(data) == [("rollup-type", "entities.account.fields.r.currency")]


def test_rollup_cycle_through_two_entities_is_reported_on_both() -> None:
    data = sent(base())
    data["entities"]["ticket"]["fields"]["last_message"] = {"type": "ref", "to": "message"}
    data["entities"]["ticket"]["fields"]["t"] = {
        "type": "int", "rollup": "sum", "of": "message.m", "via": "ticket",
    }  # fmt: skip
    data["entities"]["message"]["fields"]["m"] = {
        "type": "int", "rollup": "max", "of": "ticket.t", "via": "last_message",
    }  # fmt: skip
    assert sorted(found(data)) == [
        ("rollup-cycle", "entities.message.fields.m.of"),
        ("rollup-cycle", "entities.ticket.fields.t.of"),
    ]


def test_virtual_fields_are_refused_wherever_the_database_reads_them() -> None:
    data = sent(base())
    fields = data["entities"]["ticket"]["fields"]
    fields["v"] = {"type": "choice", "options": ["a"], "compute": "'a'", "stored": False}
    data["entities"]["ticket"]["search"] = ["v"]
    data["entities"]["ticket"]["permissions"].append(
        {"roles": ["customer"], "actions": ["read"], "scope": {"where": {"v": "a"}}}
    )
    data["entities"]["message"]["fields"]["n"] = {
        "type": "int",
        "rollup": "sum",
        "of": "ticket.v",
        "via": "t",
    }
    listing = data["pages"]["tickets"]["blocks"][0]["list"]
    listing.update(columns=["subject", "v"], filters=["v"], sort="v")
    data["pages"]["tickets"]["blocks"].append(
        {"metrics": [{"label": "By v", "entity": "ticket", "group_by": "v"}]}
    )
    virtual = [path for code, path in found(data) if code == "virtual-not-queryable"]
    assert virtual == [
        "entities.message.fields.n.of",
        "entities.ticket.search[0]",
        "entities.ticket.permissions[1].scope.where.v",
        "pages.tickets.blocks[0].list.filters[0]",
        "pages.tickets.blocks[0].list.sort",
        "pages.tickets.blocks[1].metrics[0].group_by",
    ]


def test_expression_default_on_a_stored_field_compiles() -> None:
    data = sent(base())
    data["entities"]["ticket"]["fields"]["due"]["default"] = {"expr": "today()"}
    checked = check(data)
    assert checked.report.problems == []
    assert checked.model is not None
    assert checked.model.entities["ticket"].fields["due"].default_expr is not None


def test_each_problem_is_reported_once() -> None:
    data = with_actions(
        sent(base()),
        [{"notify": {"template": "closd", "to": ["x", "x2"]}}, {"set": {"status": "open"}}],
        on={"schedule": "0 25 * * *"},
    )
    formatted = [p.format() for p in check(data).report.problems]
    assert len(formatted) == len(set(formatted)) >= 4

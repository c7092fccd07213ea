"""Round-trip edits of the starter blueprint: each edit changes exactly the lines it means.

Every test applies one editor operation to `blueprints/b2c` and asserts the exact unified diff
(one line of context) of the files it changed: comments, key order, quoting, blank lines,
indentation and the file's own line breaks elsewhere stay as they were.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.constructor import Constructor

from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.definition.loader import load
from portalis.engine.definition.yamledit import BundleEdit, EditError, YamlText, parse_path
from portalis.engine.definition.yamledit.splice import splice
from portalis.engine.definition.yamledit.style import round_trip_tree
from portalis.engine.definition.yamlsource import Pos
from portalis.engine.deploy.validator import Checker

STARTER = Path(__file__).resolve().parents[2] / "blueprints" / "b2c"


@pytest.fixture(scope="module")
def starter() -> Bundle:
    bundle, problems = read_bundle(STARTER)
    assert not problems
    return bundle


def diff(before: Bundle, edit: BundleEdit) -> str:
    result = edit.result()
    chunks: list[str] = []
    for name in result.changed:
        old = before.files.get(name, "").splitlines(keepends=True)
        new = result.files[name].splitlines(keepends=True)
        chunks.extend(difflib.unified_diff(old, new, name, name, n=1))
    return "".join(chunks)


def test_set_a_scalar_changes_one_line(starter: Bundle) -> None:
    edit = BundleEdit(starter).set("entities.ticket.fields.subject.max_length", 120)
    assert diff(starter, edit) == (
        "--- entities/ticket.yaml\n+++ entities/ticket.yaml\n@@ -9,3 +9,3 @@\n"
        "         required: true\n"
        "-        max_length: 200\n"
        "+        max_length: 120\n"
        "         label: {en: Subject, de: Betreff, fr: Objet, es: Asunto}\n"
    )
    assert edit.result().changed == ("entities/ticket.yaml",)


def test_set_keeps_the_quoting(starter: Bundle) -> None:
    edit = BundleEdit(starter).set("theme.primary_color", "#123456")
    assert diff(starter, edit) == (
        "--- portal.yaml\n+++ portal.yaml\n@@ -15,3 +15,3 @@\n"
        " theme:\n"
        '-  primary_color: "#0b5fff"\n'
        '+  primary_color: "#123456"\n'
        '   accent_color: "#00a676"\n'
    )


def test_flow_mappings_over_several_lines_stay_as_written(starter: Bundle) -> None:
    # ruamel.yaml would write each transition on one line; only the edited line changes
    edit = BundleEdit(starter).set("workflows.ticket_flow.initial", "in_progress")
    assert diff(starter, edit) == (
        "--- workflows/ticket_flow.yaml\n+++ workflows/ticket_flow.yaml\n@@ -4,3 +4,3 @@\n"
        "     field: status\n"
        "-    initial: open\n"
        "+    initial: in_progress\n"
        "     transitions:\n"
    )


def test_set_creates_a_missing_key_at_the_end_of_its_mapping(starter: Bundle) -> None:
    edit = BundleEdit(starter).set("entities.ticket.fields.subject.renamed_from", "title")
    assert diff(starter, edit) == (
        "--- entities/ticket.yaml\n+++ entities/ticket.yaml\n@@ -11,2 +11,3 @@\n"
        "         label: {en: Subject, de: Betreff, fr: Objet, es: Asunto}\n"
        "+        renamed_from: title\n"
        "       body:\n"
    )


def test_rename_keeps_position_value_and_end_of_line_comment(starter: Bundle) -> None:
    edit = BundleEdit(starter).rename("automations.weekly_reminder.on", "trigger")
    assert diff(starter, edit) == (
        "--- workflows/ticket_flow.yaml\n+++ workflows/ticket_flow.yaml\n@@ -31,3 +31,3 @@\n"
        "     entity: ticket\n"
        '-    on: {schedule: "0 8 * * 1"}   # Mondays 08:00 UTC\n'
        '+    trigger: {schedule: "0 8 * * 1"}   # Mondays 08:00 UTC\n'
        "     when: \"record['status'] in ('open', 'in_progress') and days_since(record['updated_at']) >= 7\"\n"
    )


def test_rename_a_field(starter: Bundle) -> None:
    edit = BundleEdit(starter).rename("entities.ticket.fields.body", "description")
    assert diff(starter, edit) == (
        "--- entities/ticket.yaml\n+++ entities/ticket.yaml\n@@ -11,3 +11,3 @@\n"
        "         label: {en: Subject, de: Betreff, fr: Objet, es: Asunto}\n"
        "-      body:\n"
        "+      description:\n"
        "         type: text\n"
    )


def test_delete_a_field(starter: Bundle) -> None:
    edit = BundleEdit(starter).delete("entities.ticket.fields.tags")
    assert diff(starter, edit) == (
        "--- entities/ticket.yaml\n+++ entities/ticket.yaml\n@@ -23,5 +23,2 @@\n"
        "           - {value: urgent, label: {en: Urgent, de: Dringend, fr: Urgente, es: Urgente}}\n"
        "-      tags:\n"
        "-        type: tags\n"
        "-        label: {en: Tags, de: Schlagwörter, fr: Étiquettes, es: Etiquetas}\n"
        "       account:\n"
    )


def test_insert_a_field_after_a_sibling_in_the_siblings_style(starter: Bundle) -> None:
    field = {"type": "string", "max_length": 40, "label": {"en": "Contract number"}}
    edit = BundleEdit(starter).insert(
        "entities.ticket.fields.contract_number", field, after="subject"
    )
    assert diff(starter, edit) == (
        "--- entities/ticket.yaml\n+++ entities/ticket.yaml\n@@ -11,2 +11,6 @@\n"
        "         label: {en: Subject, de: Betreff, fr: Objet, es: Asunto}\n"
        "+      contract_number:\n"
        "+        type: string\n"
        "+        max_length: 40\n"
        "+        label: {en: Contract number}\n"
        "       body:\n"
    )


def test_insert_a_role_before_a_sibling(starter: Bundle) -> None:
    edit = BundleEdit(starter).insert("roles.partner", {"label": {"en": "Partner"}}, before="agent")
    assert diff(starter, edit) == (
        "--- portal.yaml\n+++ portal.yaml\n@@ -35,2 +35,4 @@\n"
        "     inherits: [customer]\n"
        "+  partner:\n"
        "+    label: {en: Partner}\n"
        "   agent:\n"
    )


def test_a_new_list_item_goes_above_the_next_items_comment(starter: Bundle) -> None:
    timer = {
        "name": "slow",
        "state": "in_progress",
        "after": "3d",
        "actions": [{"set": {"escalated": True}}],
    }
    edit = BundleEdit(starter).insert_item("workflows.ticket_flow.timers", 0, timer)
    assert diff(starter, edit) == (
        "--- workflows/ticket_flow.yaml\n+++ workflows/ticket_flow.yaml\n@@ -17,2 +17,7 @@\n"
        "     timers:\n"
        "+      - name: slow\n"
        "+        state: in_progress\n"
        "+        after: 3d\n"
        "+        actions:\n"
        "+          - set: {escalated: true}\n"
        "       # SLA: an urgent ticket nobody started within 4 hours is escalated to every agent\n"
    )


def test_removing_the_last_item_leaves_an_empty_list_and_takes_its_comment(
    starter: Bundle,
) -> None:
    edit = BundleEdit(starter).delete("workflows.ticket_flow.timers.0")
    assert diff(starter, edit) == (
        "--- workflows/ticket_flow.yaml\n+++ workflows/ticket_flow.yaml\n@@ -16,11 +16,3 @@\n"
        "          label: {en: Reopen, de: Wieder öffnen, fr: Rouvrir, es: Reabrir}}\n"
        "-    timers:\n"
        "-      # SLA: an urgent ticket nobody started within 4 hours is escalated to every agent\n"
        "-      - name: urgent_sla\n"
        "-        state: open\n"
        "-        after: 4h\n"
        "-        when: \"record['priority'] == 'urgent'\"\n"
        "-        actions:\n"
        "-          - set: {escalated: true}\n"
        '-          - notify: {template: ticket_escalated, to: ["role:agent"]}\n'
        "+    timers: []\n"
        " \n"
    )


def test_reorder_a_form_blocks_fields(starter: Bundle) -> None:
    edit = BundleEdit(starter).move_item("pages.new_ticket.blocks.0.form.fields.3", 0)
    assert diff(starter, edit) == (
        "--- pages/tickets.yaml\n+++ pages/tickets.yaml\n@@ -50,3 +50,3 @@\n"
        "     blocks:\n"
        "-      - form: {entity: ticket, fields: [subject, body, priority, amount, tags, due, attachment], redirect: ticket}\n"
        "+      - form: {entity: ticket, fields: [amount, subject, body, priority, tags, due, attachment], redirect: ticket}\n"
        "   dashboard:\n"
    )


def test_move_a_field_between_two_forms(starter: Bundle) -> None:
    edit = BundleEdit(starter).move_item(
        "pages.edit_ticket.blocks.0.form.fields.6", 7, to="pages.new_ticket.blocks.0.form.fields"
    )
    assert diff(starter, edit) == (
        "--- pages/tickets.yaml\n+++ pages/tickets.yaml\n@@ -44,3 +44,3 @@\n"
        "     blocks:\n"
        "-      - form: {entity: ticket, mode: edit, fields: [subject, body, priority, tags, due, attachment, assignee, resolution], redirect: ticket}\n"
        "+      - form: {entity: ticket, mode: edit, fields: [subject, body, priority, tags, due, attachment, resolution], redirect: ticket}\n"
        "   new_ticket:\n"
        "@@ -50,3 +50,3 @@\n"
        "     blocks:\n"
        "-      - form: {entity: ticket, fields: [subject, body, priority, amount, tags, due, attachment], redirect: ticket}\n"
        "+      - form: {entity: ticket, fields: [subject, body, priority, amount, tags, due, attachment, assignee], redirect: ticket}\n"
        "   dashboard:\n"
    )


def test_move_a_block_keeps_its_lines(starter: Bundle) -> None:
    edit = BundleEdit(starter).move_item("pages.ticket.blocks.3", 0)
    assert diff(starter, edit) == (
        "--- pages/tickets.yaml\n+++ pages/tickets.yaml\n@@ -25,2 +25,7 @@\n"
        "     blocks:\n"
        "+      - form:\n"
        "+          entity: message\n"
        "+          fields: [body]\n"
        "+          parent: ticket\n"
        "+          submit_label: {en: Send message, de: Nachricht senden, fr: Envoyer le message, es: Enviar mensaje}\n"
        "       - detail: {entity: ticket, actions: [transitions, edit], history: {roles: [agent, account_admin]}, live: true}\n"
        "@@ -34,7 +39,2 @@\n"
        "           title: {en: Conversation, de: Verlauf, fr: Conversation, es: Conversación}\n"
        "-      - form:\n"
        "-          entity: message\n"
        "-          fields: [body]\n"
        "-          parent: ticket\n"
        "-          submit_label: {en: Send message, de: Nachricht senden, fr: Envoyer le message, es: Enviar mensaje}\n"
        "   edit_ticket:\n"
    )


def test_navigation_order(starter: Bundle) -> None:
    edit = BundleEdit(starter).move_item("navigation.7", 1)
    assert diff(starter, edit) == (
        "--- portal.yaml\n+++ portal.yaml\n@@ -42,3 +42,3 @@\n"
        " \n"
        "-navigation: [home, help, tickets, new_ticket, invoices, bookings, new_article, dashboard]\n"
        "+navigation: [home, dashboard, help, tickets, new_ticket, invoices, bookings, new_article]\n"
        " \n"
    )


def test_set_a_sub_tree_updates_in_place(starter: Bundle) -> None:
    options = [
        {"value": "low", "label": {"en": "Low", "de": "Niedrig", "fr": "Basse", "es": "Baja"}},
        {
            "value": "normal",
            "label": {"en": "Normal", "de": "Normal", "fr": "Normale", "es": "Normal"},
        },
        {"value": "high", "label": {"en": "High"}},
    ]
    edit = BundleEdit(starter).set("entities.ticket.fields.priority.options", options)
    assert diff(starter, edit) == (
        "--- entities/ticket.yaml\n+++ entities/ticket.yaml\n@@ -21,4 +21,3 @@\n"
        "           - {value: normal, label: {en: Normal, de: Normal, fr: Normale, es: Normal}}\n"
        "-          - {value: high, label: {en: High, de: Hoch, fr: Haute, es: Alta}}\n"
        "-          - {value: urgent, label: {en: Urgent, de: Dringend, fr: Urgente, es: Urgente}}\n"
        "+          - {value: high, label: {en: High}}\n"
        "       tags:\n"
    )


def test_setting_equal_data_changes_nothing(starter: Bundle) -> None:
    raw, _ = load(starter)
    subject = raw.data["entities"]["ticket"]["fields"]["subject"]
    edit = BundleEdit(starter).set("entities.ticket.fields.subject", subject)
    assert edit.result().changed == ()
    assert edit.result().bundle.sha256 == starter.sha256


def test_a_new_entity_in_a_new_included_file(starter: Bundle) -> None:
    entity = {
        "label": {"en": "Quote"},
        "fields": {"number": {"type": "string", "required": True}},
    }
    edit = BundleEdit(starter).set("entities.quote", entity, file="entities/quote.yaml")
    assert diff(starter, edit) == (
        "--- entities/quote.yaml\n+++ entities/quote.yaml\n@@ -0,0 +1,5 @@\n"
        "+entities:\n"
        "+  quote:\n"
        "+    label: {en: Quote}\n"
        "+    fields:\n"
        "+      number: {type: string, required: true}\n"
    )
    raw, report = load(edit.result().bundle)
    assert raw.data["entities"]["quote"] == entity
    assert raw.source.locate(("entities", "quote")).file == "entities/quote.yaml"
    assert not report.errors


def test_a_file_the_root_does_not_include_is_refused(starter: Bundle) -> None:
    with pytest.raises(EditError, match="not included"):
        BundleEdit(starter).set("entities.quote", {}, file="other/quote.yaml")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e: e.delete("entities.nothing"), "has no entities.nothing"),
        (lambda e: e.rename("entities.ticket.fields.body", "subject"), "exists already"),
        (lambda e: e.rename("entities.ticket.fields.body", "two words"), "not a valid name"),
        (lambda e: e.insert("roles.partner", {}, before="nobody"), "has no nobody"),
        (lambda e: e.move_item("entities.ticket.fields.body", 0), "move it with move_key"),
    ],
)
def test_impossible_edits_raise_clear_errors(starter: Bundle, call: object, message: str) -> None:
    with pytest.raises(EditError, match=message):
        call(BundleEdit(starter))  # type: ignore[operator]


def test_list_sections_are_numbered_within_their_file() -> None:
    bundle = Bundle.of(
        {
            "portal.yaml": "include: [more.yaml]\nseed: [a/*.yaml]\n",
            "more.yaml": "seed:\n  - b/*.yaml  # second\n  - c/*.yaml\n",
        }
    )
    edit = BundleEdit(bundle)
    assert edit.locate("seed.2") == ("more.yaml", ("seed", 1))
    edit.set("seed.2", "d/*.yaml")
    assert edit.result().files["more.yaml"] == "seed:\n  - b/*.yaml  # second\n  - d/*.yaml\n"


def test_indentation_and_document_start_of_the_file_are_kept() -> None:
    text = (
        "---\n# pages\npages:\n    home:\n        route: /\n        blocks:\n"
        "        - markdown: {en: hi}   # greeting\n        - list: {entity: ticket}\n"
        "    other:\n        route: /other\n"
    )
    doc = YamlText(text, "pages.yaml")
    added = doc.insert(
        ("pages",), 1, "faq", {"route": "/faq", "blocks": [{"markdown": {"en": "x"}}]}
    )
    assert added == text.replace(
        "    other:\n",
        "    faq:\n        route: /faq\n        blocks:\n        - markdown: {en: x}\n    other:\n",
    )
    moved = doc.move(("pages", "home", "blocks", 1), ("pages", "home", "blocks"), 0)
    assert moved == text.replace(
        "        - markdown: {en: hi}   # greeting\n        - list: {entity: ticket}\n",
        "        - list: {entity: ticket}\n        - markdown: {en: hi}   # greeting\n",
    )


def test_parse_path() -> None:
    assert parse_path("pages.home.blocks.0") == ("pages", "home", "blocks", 0)
    assert parse_path(("a", 1)) == ("a", 1)


def test_move_a_key_before_a_sibling(starter: Bundle) -> None:
    edit = BundleEdit(starter).move_key("roles.agent", before="customer")
    assert diff(starter, edit) == (
        "--- portal.yaml\n+++ portal.yaml\n@@ -29,2 +29,5 @@\n"
        " roles:\n"
        "+  agent:\n"
        "+    label: {en: Support agent, de: Support-Mitarbeiter, fr: Agent de support, es: Agente de soporte}\n"
        "+    staff: true\n"
        "   customer:\n"
        "@@ -35,5 +38,2 @@\n"
        "     inherits: [customer]\n"
        "-  agent:\n"
        "-    label: {en: Support agent, de: Support-Mitarbeiter, fr: Agent de support, es: Agente de soporte}\n"
        "-    staff: true\n"
        " \n"
    )
    raw, _ = load(edit.result().bundle)
    assert list(raw.data["roles"]) == ["agent", "customer", "account_admin"]


def test_an_edit_inside_a_multi_line_flow_mapping_changes_only_its_line(starter: Bundle) -> None:
    edit = BundleEdit(starter).set(
        "workflows.ticket_flow.transitions.1.roles", ["agent", "account_admin"]
    )
    assert diff(starter, edit) == (
        "--- workflows/ticket_flow.yaml\n+++ workflows/ticket_flow.yaml\n@@ -8,3 +8,3 @@\n"
        "          label: {en: Start work, de: Bearbeitung beginnen, fr: Commencer, es: Empezar}}\n"
        "-      - {name: resolve, from: in_progress, to: resolved, roles: [agent], require: [resolution],\n"
        "+      - {name: resolve, from: in_progress, to: resolved, roles: [agent, account_admin], require: [resolution],\n"
        "          label: {en: Resolve, de: Lösen, fr: Résoudre, es: Resolver},\n"
    )
    raw, report = load(edit.result().bundle)
    transition = raw.data["workflows"]["ticket_flow"]["transitions"][1]
    assert transition["actions"] == [{"notify": {"template": "ticket_resolved", "to": ["creator"]}}]
    assert not report.errors


def test_an_action_in_a_flow_list_keeps_its_braces(starter: Bundle) -> None:
    edit = BundleEdit(starter).set(
        "workflows.ticket_flow.transitions.1.actions",
        [{"notify": {"template": "ticket_done", "to": ["creator", "assignee"]}}],
    )
    assert diff(starter, edit) == (
        "--- workflows/ticket_flow.yaml\n+++ workflows/ticket_flow.yaml\n@@ -10,3 +10,3 @@\n"
        "          label: {en: Resolve, de: Lösen, fr: Résoudre, es: Resolver},\n"
        "-         actions: [{notify: {template: ticket_resolved, to: [creator]}}]}\n"
        "+         actions: [{notify: {template: ticket_done, to: [creator, assignee]}}]}\n"
        "       - {name: close, from: [resolved], to: closed, roles: [customer, agent],\n"
    )


def test_setting_a_whole_flow_transition_changes_only_what_differs(starter: Bundle) -> None:
    raw, _ = load(starter)
    transition = dict(raw.data["workflows"]["ticket_flow"]["transitions"][3])
    transition["label"] = {**transition["label"], "de": "Erneut öffnen"}
    del transition["when"]
    transition["require"] = ["resolution"]
    edit = BundleEdit(starter).set("workflows.ticket_flow.transitions.3", transition)
    assert diff(starter, edit) == (
        "--- workflows/ticket_flow.yaml\n+++ workflows/ticket_flow.yaml\n@@ -13,5 +13,4 @@\n"
        "          label: {en: Close, de: Schließen, fr: Fermer, es: Cerrar}, comment: none}\n"
        "-      - {name: reopen, from: [resolved, closed], to: open, roles: [customer],\n"
        "-         when: \"days_since(record['updated_at']) <= 14\", comment: required,\n"
        "-         label: {en: Reopen, de: Wieder öffnen, fr: Rouvrir, es: Reabrir}}\n"
        "+      - {name: reopen, from: [resolved, closed], to: open, roles: [customer], comment: required,\n"
        "+         label: {en: Reopen, de: Erneut öffnen, fr: Rouvrir, es: Reabrir}, require: [resolution]}\n"
        "     timers:\n"
    )


def test_a_key_added_to_a_multi_line_flow_mapping_goes_after_its_last_entry(
    starter: Bundle,
) -> None:
    edit = BundleEdit(starter).set("workflows.ticket_flow.transitions.0.comment", "optional")
    assert diff(starter, edit) == (
        "--- workflows/ticket_flow.yaml\n+++ workflows/ticket_flow.yaml\n@@ -7,3 +7,3 @@\n"
        "       - {name: start, from: open, to: in_progress, roles: [agent],\n"
        "-         label: {en: Start work, de: Bearbeitung beginnen, fr: Commencer, es: Empezar}}\n"
        "+         label: {en: Start work, de: Bearbeitung beginnen, fr: Commencer, es: Empezar}, comment: optional}\n"
        "       - {name: resolve, from: in_progress, to: resolved, roles: [agent], require: [resolution],\n"
    )


def test_a_label_over_two_lines_keeps_its_lines(starter: Bundle) -> None:
    edit = BundleEdit(starter).set(
        "automations.weekly_reminder.label.fr", "Rappel des tickets en attente"
    )
    assert diff(starter, edit) == (
        "--- workflows/ticket_flow.yaml\n+++ workflows/ticket_flow.yaml\n@@ -29,3 +29,3 @@\n"
        "     label: {en: Weekly reminder of waiting tickets, de: Wöchentliche Erinnerung an wartende Tickets,\n"
        "-            fr: Rappel hebdomadaire des tickets en attente, es: Recordatorio semanal de tickets en espera}\n"
        "+            fr: Rappel des tickets en attente, es: Recordatorio semanal de tickets en espera}\n"
        "     entity: ticket\n"
    )


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # a value inside a flow mapping whose lines carry comments
        (
            lambda doc: doc.replace(("a", "y"), 3),
            "a: {x: 1,   # first\n    y: 3}   # last\nb: [p, q]\nc: {}\n",
        ),
        # the first, a middle and the only entry of a flow collection removed
        (
            lambda doc: doc.delete(("b", 0)),
            "a: {x: 1,   # first\n    y: 2}   # last\nb: [q]\nc: {}\n",
        ),
        (
            lambda doc: doc.delete(("a", "y")),
            "a: {x: 1}   # last\nb: [p, q]\nc: {}\n",
        ),
        # entries added before an item, at the end, and into an empty mapping
        (
            lambda doc: doc.insert(("b",), 1, None, {"r": 1}),
            "a: {x: 1,   # first\n    y: 2}   # last\nb: [p, {r: 1}, q]\nc: {}\n",
        ),
        (
            lambda doc: doc.insert(("b",), 2, None, "a, b"),
            "a: {x: 1,   # first\n    y: 2}   # last\nb: [p, q, 'a, b']\nc: {}\n",
        ),
        (
            lambda doc: doc.insert(("a",), 0, "k", [1, 2]),
            "a: {k: [1, 2], x: 1,   # first\n    y: 2}   # last\nb: [p, q]\nc: {}\n",
        ),
    ],
)
def test_flow_collection_edits_change_only_their_characters(edit: object, expected: str) -> None:
    doc = YamlText("a: {x: 1,   # first\n    y: 2}   # last\nb: [p, q]\nc: {}\n", "x.yaml")
    assert edit(doc) == expected  # type: ignore[operator]


def test_a_line_written_by_ruamel_keeps_braces_around_one_key_mappings() -> None:
    # an empty value has no characters to replace: the line is written from the tree
    doc = YamlText("a: {w: , b: [{x: 1}]}\nc: 1\n", "x.yaml")
    assert doc.replace(("a", "w"), 1) == "a: {w: 1, b: [{x: 1}]}\nc: 1\n"


def test_an_edit_in_a_flow_value_keeps_the_lines_comment(starter: Bundle) -> None:
    edit = BundleEdit(starter).set("automations.weekly_reminder.on.schedule", "0 9 * * 1")
    assert diff(starter, edit) == (
        "--- workflows/ticket_flow.yaml\n+++ workflows/ticket_flow.yaml\n@@ -31,3 +31,3 @@\n"
        "     entity: ticket\n"
        '-    on: {schedule: "0 8 * * 1"}   # Mondays 08:00 UTC\n'
        '+    on: {schedule: "0 9 * * 1"}   # Mondays 08:00 UTC\n'
        "     when: \"record['status'] in ('open', 'in_progress') and days_since(record['updated_at']) >= 7\"\n"
    )


def test_the_edited_bundle_still_validates(starter: Bundle, portalis_checker: Checker) -> None:
    field = {"type": "string", "max_length": 40, "label": {"en": "Contract number"}}
    edit = BundleEdit(starter)
    edit.insert("entities.ticket.fields.contract_number", field, after="subject")
    edit.append("pages.new_ticket.blocks.0.form.fields", "contract_number")
    edit.move_item("pages.new_ticket.blocks.0.form.fields.7", 1)
    edit.set("entities.ticket.permissions.0.fields", {"except": ["assignee", "contract_number"]})
    result = edit.result()
    assert result.changed == ("entities/ticket.yaml", "pages/tickets.yaml")
    checked = portalis_checker.check_bundle(result.bundle, {})
    assert checked.report.ok, checked.report.errors
    assert checked.model is not None
    assert "contract_number" in checked.model.entities["ticket"].fields


def test_position_of_a_definition_path(starter: Bundle) -> None:
    edit = BundleEdit(starter)
    assert edit.position("entities.ticket.fields.subject") == Pos("entities/ticket.yaml", 7, 7)
    assert edit.position("pages.new_ticket.blocks.0") == Pos("pages/tickets.yaml", 51, 9)
    # a missing node: where its parent mapping starts
    assert edit.position("entities.ticket.fields.nothing") == Pos("entities/ticket.yaml", 7, 7)


def test_splice_keeps_the_files_writing_outside_the_edit() -> None:
    original = "a: {x: 1,\n    y: 2}\nb: 1\nc: [1,\n  2]\n"
    before = "a: {x: 1, y: 2}\nb: 1\nc: [1, 2]\n"
    assert splice(original, before, before.replace("b: 1", "b: 2")) == original.replace(
        "b: 1", "b: 2"
    )
    # an edit of a line the file writes differently takes ruamel.yaml's writing there only
    edited = splice(original, before, before.replace("y: 2", "y: 3"))
    assert edited == "a: {x: 1, y: 3}\nb: 1\nc: [1,\n  2]\n"
    assert splice(original, before, before + "d: 4\n") == original + "d: 4\n"
    assert splice(original, before, before) == original


def test_a_file_with_crlf_line_ends_keeps_them() -> None:
    text = "roles:\r\n  customer:\r\n    label: {en: Customer}  # who buys\r\n  agent: {}\r\n"
    doc = YamlText(text, "portal.yaml")
    assert doc.rename(("roles", "agent"), "staff") == text.replace("agent", "staff")
    inserted = doc.insert(("roles",), 1, "partner", {"label": {"en": "Partner"}})
    assert inserted == text.replace(
        "  agent:", "  partner:\r\n    label: {en: Partner}\r\n  agent:"
    )
    moved = doc.move(("roles", "agent"), ("roles",), 0)
    assert (
        moved == "roles:\r\n  agent: {}\r\n  customer:\r\n    label: {en: Customer}  # who buys\r\n"
    )
    assert "\r\r" not in doc.replace(("roles", "customer", "label", "en"), "Client")


def test_delete_file_removes_only_that_file(starter: Bundle) -> None:
    edit = BundleEdit(starter).delete_file("notifications.yaml")
    result = edit.result()
    assert "notifications.yaml" not in result.files
    assert set(result.files) == set(starter.files) - {"notifications.yaml"}
    assert result.changed == ()
    with pytest.raises(EditError, match="no file notifications.yaml"):
        edit.delete_file("notifications.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system [echo]\n",
        "a: !custom 1\n",
        "a: &x [1, 2]\nb: *x\n",
    ],
)
def test_tags_and_aliases_are_refused_before_anything_is_built(text: str) -> None:
    with pytest.raises(EditError, match="edit this file as text"):
        YamlText(text, "entities/x.yaml")


def test_the_tags_the_definition_loader_allows_are_kept() -> None:
    node = YamlText("a: !!str 1\n", "entities/x.yaml").get(["a"])
    assert node.value == "1" and str(node.tag) == "tag:yaml.org,2002:str"


def test_trees_are_built_by_a_safe_constructor_only() -> None:
    safe = YAML(typ="rt")
    tree = round_trip_tree(safe, "# kept\na: 1  # note\n")
    assert tree == {"a": 1} and isinstance(tree, CommentedMap)
    unsafe = YAML(typ="rt")
    unsafe.Constructor = Constructor  # builds the objects tags name: never used here
    with pytest.raises(TypeError, match="not a safe YAML constructor"):
        round_trip_tree(unsafe, "a: 1\n")

"""Where a draft names a role (`builder.editors.role_refs`), on small bundles: keys of a
per-role mapping and recipients are found and rewritten in place; a name inside an
expression is found but marked unsafe; a removal drops a lone grant and shortens a shared
one."""

from __future__ import annotations

import portalis.builder.blueprint  # noqa: F401 - imports the runtime before the builder's editors
from portalis.builder.editing import apply_operations
from portalis.builder.editors.role_refs import references, removal_operations, rename_operations
from portalis.engine.definition.bundle import Bundle
from portalis.engine.definition.loader import load

PORTAL = """\
format: portalis/v1
portal: demo
roles:
  agent: {label: Agent}
  boss: {inherits: [agent]}
auth:
  ip_allowlist: {roles: {agent: ["10.0.0.0/8"]}}
entities:
  ticket:
    fields:
      subject: {type: string, visible_when: "'agent' in actor['roles']"}
    permissions:
      - {roles: [agent], actions: [read], scope: all}
      - {roles: [boss, agent], actions: [update], scope: all}
notify_to: ["role:agent", creator]
"""


def _bundle() -> Bundle:
    return Bundle.of({"portal.yaml": PORTAL})


def test_every_reference_is_found_and_an_expression_is_unsafe() -> None:
    bundle = _bundle()
    refs = references(bundle, load(bundle)[0].data, "agent")
    found = {(r.where, r.kind, r.safe) for r in refs}
    assert found == {
        ("auth.ip_allowlist.roles.agent", "key", True),
        ("entities.ticket.fields.subject.visible_when", "expression", False),
        ("entities.ticket.permissions.0.roles.0", "list", True),
        ("entities.ticket.permissions.1.roles.1", "list", True),
        ("notify_to.0", "recipient", True),
        ("roles.boss.inherits.0", "list", True),
    }


def test_a_rename_rewrites_each_safe_reference_in_its_line() -> None:
    bundle = _bundle()
    refs = [r for r in references(bundle, load(bundle)[0].data, "agent") if r.safe]
    text = apply_operations(bundle, rename_operations(refs, "agent", "staff")).result()
    assert text.files["portal.yaml"] == (
        PORTAL.replace("  agent: {label", "  staff: {label")
        .replace("[agent]", "[staff]")
        .replace("{agent: [", "{staff: [")
        .replace("[boss, agent]", "[boss, staff]")
        .replace('"role:agent"', '"role:staff"')
    )


def test_a_removal_drops_a_lone_grant_and_shortens_a_shared_one() -> None:
    bundle = Bundle.of({"portal.yaml": PORTAL.replace("    inherits: [agent]", "")})
    data = load(bundle)[0].data
    refs = [r for r in references(bundle, data, "boss") if r.is_grant]
    grants = {"ticket": data["entities"]["ticket"]["permissions"]}
    text = apply_operations(bundle, removal_operations(refs, "boss", grants)).result()
    lines = text.files["portal.yaml"].splitlines()
    assert "      - {roles: [agent], actions: [update], scope: all}" in lines
    assert not any("boss" in line for line in lines)


def test_a_seed_file_names_roles_in_its_users() -> None:
    seed = (
        "users:\n  - {email: a@example.test, roles: [boss, agent]}\n  - {email: b@example.test}\n"
    )
    bundle = Bundle.of({"portal.yaml": PORTAL + "seed: [seed/*.yaml]\n", "seed/people.yaml": seed})
    refs = references(bundle, load(bundle)[0].data, "agent")
    assert [(r.where, r.kind, r.file) for r in refs if r.kind == "seed"] == [
        ("users.0.roles.1", "seed", "seed/people.yaml")
    ]
    safe = [r for r in refs if r.safe]
    renamed = apply_operations(bundle, rename_operations(safe, "agent", "staff")).result()
    assert renamed.files["seed/people.yaml"] == seed.replace("agent]", "staff]")

"""A generated definition of `entities` entities for `bench/builder_save.py`: what a large
portal looks like, not the smallest thing that validates.

Each entity has fields of several types (string, text, money, date, choice, tags, bool,
int), a ref to `account` and a ref to the entity before it, a rule, grants for three
roles, a list page and a detail page; every fifth entity has a workflow on its `state` with
three transitions. The definition is in two locales, every label translated.
"""

from __future__ import annotations

from pathlib import Path

#: Every how many entities one has a workflow.
WORKFLOW_EVERY = 5

_ROOT = """format: portalis/v1
portal: {slug}
title: {{en: Big portal, de: Großes Portal}}
locales: [en, de]
include: [entities/*.yaml, pages/*.yaml, workflows/*.yaml]
roles:
  customer:
    label: {{en: Customer, de: Kunde}}
  account_admin:
    label: {{en: Account administrator, de: Kontoadministrator}}
    inherits: [customer]
  agent:
    label: {{en: Agent, de: Mitarbeiter}}
    staff: true
navigation: [{first}]
"""

_ENTITY = """entities:
  {name}:
    label: {{en: Entity {i}, de: Entität {i}}}
    title_field: title
    fields:
      title: {{type: string, required: true, max_length: 120, label: {{en: Title, de: Titel}}}}
      body: {{type: text, label: {{en: Description, de: Beschreibung}}}}
      amount: {{type: money, label: {{en: Amount, de: Betrag}}}}
      quantity: {{type: int, label: {{en: Quantity, de: Menge}}}}
      due: {{type: date, label: {{en: Due, de: Fällig}}}}
      urgent: {{type: bool, label: {{en: Urgent, de: Dringend}}}}
      state: {{type: choice, options: [new, open, done], default: new, label: {{en: State, de: Status}}}}
      tags: {{type: tags, label: {{en: Tags, de: Schlagwörter}}}}
      account: {{type: ref, to: account, required: true, label: {{en: Account, de: Konto}}}}{parent}
    rules:
      - {{check: "record['due'] is None or record['quantity'] is None or record['quantity'] >= 0", message: {{en: no negative quantity, de: keine negative Menge}}}}
    permissions:
      - {{roles: [customer], actions: [read, create], scope: account}}
      - {{roles: [account_admin], actions: [read, create, update], scope: account}}
      - {{roles: [agent], actions: [read, update, delete], scope: all}}
"""

_PAGES = """pages:
  {name}_list:
    route: /{name}
    title: {{en: Entities {i}, de: Entitäten {i}}}
    roles: [customer, agent]
    blocks:
      - list: {{entity: {name}, columns: [title, state, due, amount, updated_at], filters: [state], search: [title], link: {name}_detail}}
  {name}_detail:
    route: /{name}/<id>
    roles: [customer, agent]
    blocks:
      - detail: {{entity: {name}}}
"""

_WORKFLOW = """workflows:
  {name}_flow:
    entity: {name}
    field: state
    initial: new
    transitions:
      - {{name: open, from: new, to: open, roles: [agent], label: {{en: Open, de: Öffnen}}}}
      - {{name: finish, from: open, to: done, roles: [agent, account_admin], label: {{en: Finish, de: Erledigen}}}}
      - {{name: reopen, from: done, to: open, roles: [customer], when: "days_since(record['updated_at']) <= 14", comment: required, label: {{en: Reopen, de: Wieder öffnen}}}}
"""


def generated_files(entities: int, slug: str = "big") -> dict[str, str]:
    """relative path → text of a definition with `entities` entities (at least one)."""
    files = {"portal.yaml": _ROOT.format(slug=slug, first="e000_list")}
    for i in range(entities):
        name = f"e{i:03d}"
        parent = (
            f"\n      parent: {{type: ref, to: e{i - 1:03d}, label: {{en: Parent, de: Oberteil}}}}"
            if i
            else ""
        )
        files[f"entities/{name}.yaml"] = _ENTITY.format(name=name, i=i, parent=parent)
        files[f"pages/{name}.yaml"] = _PAGES.format(name=name, i=i)
        if i % WORKFLOW_EVERY == 0:
            files[f"workflows/{name}.yaml"] = _WORKFLOW.format(name=name)
    return files


def write_generated(folder: Path, entities: int, slug: str = "big") -> Path:
    """`generated_files` written into `folder` (created); returns `folder`."""
    for relative, text in generated_files(entities, slug).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder

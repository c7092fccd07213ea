"""Every YAML and console example in the documentation works as shown.

Blocks: every fenced ```yaml and ```console block of README.md, docs/*.md and the READMEs of
blueprints/* and plugins/* (indented blocks, e.g. in a numbered list, are dedented).

Annotations — an HTML comment on the line right before the fence:

- `<!-- docs-test: invalid, expect CODE -->`: the YAML block must be refused, and the problem
  CODE must be among the problems (a deliberately wrong example);
- `<!-- docs-test: with NAME -->`: embed the fragment after `CONTEXTS[NAME]`, the few
  declarations the example presupposes (an entity the guide talks about but does not show);
- `<!-- docs-test: skip, REASON -->`: not run; the reason is required. No block is skipped
  without one.

YAML blocks are validated in-process with the engine's `Checker` and the installed plugins, as
`portalis validate` does, with `${NAME}` references left as they are (as in CI without secrets):

- a block with `format:` or `portal:` is a complete root file, validated as a bundle of its own.
  Blocks of one document whose first line is a comment naming a file (`# tests/portal/…`) are
  the files of one folder and are validated together;
- any other block is a fragment embedded into the starter blueprint `blueprints/b2c` (the
  portal the docs use), chosen by its top-level keys: definition keys (`entities`, `auth`, …)
  merge into the blueprint (mappings key by key; a list or a scalar replaces the blueprint's);
  seed keys (`accounts`, `users`, `records`) become a seed file; a list of blocks becomes a new
  page; a list of `type:` mappings becomes `payments.providers` when the types are payment
  provider types, else `auth.providers`; a mapping of `type:` mappings becomes fields of
  `ticket`. A block that fits none of these fails: annotate or fix it.

A valid example must produce no error (warnings are allowed: fragments show one locale of a
portal with four).

Console blocks: each `$ ` line is a command, the lines up to the next `$ ` line its documented
output. Commands run from the repository root through the real CLI (the `portalis` console
script next to `sys.executable`; `.venv/bin/portalis` means the same) with
`PORTALIS_DATABASE_URL` set to a fresh SQLite file for each block. `export NAME=VALUE` sets a
variable for the following commands (except `PORTALIS_DATABASE_URL`, which stays the temporary
database), a leading `NAME=VALUE` sets one for that command, and `echo $?` prints the exit code
of the previous command. Standard output and standard error are compared together, in the
order written, line by line after stripping trailing blanks: a documented line that is exactly
`…` stands for any number of lines (run-specific output), every other line must be equal.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.definition.loader import load
from portalis.engine.definition.yamlsource import parse_text
from portalis.engine.deploy.validator import Checker
from portalis.engine.problems import Problem, Severity
from portalis.runtime import default_plugins
from portalis.testing.portals import without_starter_invoices

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted(ROOT.glob("blueprints/*/README.md")),
    *sorted(ROOT.glob("plugins/*/README.md")),
]
BLUEPRINT = ROOT / "blueprints" / "b2c"
PORTALIS = Path(sys.executable).parent / "portalis"
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>yaml|console)\s*$")
ANNOTATION = re.compile(r"^<!--\s*docs-test:\s*(?P<body>.*?)\s*-->$")
FILE_COMMENT = re.compile(r"^#\s*(?P<path>[\w./-]+\.(?:yaml|yml))\s*$")
ELLIPSIS = "…"
SEED_KEYS = {"accounts", "users", "records"}
#: The declarations an example presupposes, by the name its annotation gives.
CONTEXTS: dict[str, str] = {
    # definition-reference: its examples form one portal with a manager role, refunds, a
    # resolution date, tickets in a full-text index (the search block's example), messages with a `text` and a survey notification
    "reference": """
roles:
  manager: {label: Manager, staff: true}
entities:
  ticket:
    search: {fields: {subject: 3, body: 1}}
    fields:
      status:
        options: [open, in_progress, resolved, refunded, closed]
      resolved_on: {type: date}
  message:
    fields:
      text: {type: text}
workflows:
  ticket_flow:
    transitions:
      - {name: refund, from: resolved, to: refunded, roles: [agent]}
notifications:
  ticket_closed: {subject: Closed, body: "{{ link }}", link: ticket}
""",
    # guide-workflows §1: the invoice the rules talk about has a status with `disputed`
    "invoice": """
entities:
  invoice:
    fields:
      number: {type: string, required: true}
      status: {type: choice, options: [open, disputed, paid], default: open}
""",
    # guide-workflows §1 rollups: the invoice lines they sum, and invoices of an account
    "invoice-lines": """
entities:
  invoice:
    fields:
      number: {type: string, required: true}
      account: {type: ref, to: account, required: true}
  invoice_line:
    fields:
      invoice: {type: ref, to: invoice, required: true}
      amount: {type: money, required: true}
      status: {type: choice, options: [open, settled], default: open}
""",
    # guide-workflows §3 transitions and copies: invoices settled by payments, orders with lines
    "invoice-payments": """
entities:
  account:
    fields:
      sales_rep: {type: ref, to: user}
  invoice:
    fields:
      number: {type: string, required: true}
      account: {type: ref, to: account, required: true}
      open_amount: {type: decimal, places: 2}
      status: {type: choice, options: [issued, paid], default: issued}
    permissions:
      - {roles: [agent], actions: [read, update], scope: all}
  sales_order:
    fields:
      number: {type: string, max_length: 20}
      account: {type: ref, to: account, required: true}
  sales_order_line:
    fields:
      order: {type: ref, to: sales_order, required: true}
      product: {type: string, required: true}
      delivered: {type: bool, default: false}
workflows:
  invoice_flow:
    entity: invoice
    field: status
    initial: issued
    transitions:
      - {name: pay, from: issued, to: paid, roles: [agent], when: "record['open_amount'] == 0"}
notifications:
  invoice_paid: {subject: "Paid: {{ record.number }}", body: "{{ link }}"}
""",
    # guide-workflows §1 capacity: slots are booked by bookings
    "booking": """
entities:
  booking:
    fields:
      slot: {type: ref, to: slot, required: true}
""",
    # guide-workflows §2: the expense the approval workflow runs on, its roles and templates
    "expense": """
roles:
  manager: {label: Manager, staff: true}
  accountant: {label: Accountant, staff: true}
entities:
  expense:
    fields:
      amount: {type: decimal, required: true}
      status:
        type: choice
        options: [submitted, approved, rejected, paid, escalated]
      approved_on: {type: date}
      paid_on: {type: date}
      handler: {type: ref, to: user}
    permissions:
      - {roles: [manager, accountant], actions: [read, transition], scope: all}
notifications:
  expense_approved: {subject: Approved, body: "{{ link }}", link: expense}
  expense_waiting: {subject: Waiting, body: "{{ link }}", link: expense}
pages:
  expense:
    route: /expenses/<id>
    roles: [manager, accountant]
    blocks:
      - detail: {entity: expense}
""",
    # guide-workflows §3: the notification templates the automations send
    "ticket-notifications": """
notifications:
  urgent_ticket: {subject: Urgent, body: "{{ link }}", link: ticket}
  ticket_waiting: {subject: Waiting, body: "{{ link }}", link: ticket}
""",
}


@dataclass(frozen=True)
class Block:
    """One fenced block of a document."""

    document: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    annotation: str | None

    @property
    def id(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"

    @property
    def file_comment(self) -> str | None:
        first = self.text.lstrip().splitlines()[0] if self.text.strip() else ""
        match = FILE_COMMENT.match(first)
        return match["path"] if match else None


#: Blocks that show the record of their page's <id>.
RECORD_BLOCKS = ("detail", "attachments", "feedback", "related", "payments")


def read_blocks(document: Path) -> list[Block]:
    """The yaml and console blocks of a Markdown file, with their annotations."""
    lines = document.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        body = textwrap.dedent("\n".join(lines[i + 1 : end])) + "\n"
        previous = lines[i - 1].strip() if i > 0 else ""
        note = ANNOTATION.match(previous)
        blocks.append(Block(document, i + 1, match["lang"], body, note["body"] if note else None))
        i = end + 1
    return blocks


ALL_BLOCKS = [block for document in DOCUMENTS for block in read_blocks(document)]


@cache
def checker() -> Checker:
    """The checker `portalis validate` uses: built-in and installed plugins."""
    return Checker(default_plugins.plugin_manager())


def errors_of(problems: list[Problem]) -> list[str]:
    return [p.format() for p in problems if p.severity is not Severity.WARNING]


def parse_annotation(block: Block) -> tuple[str, str]:
    """(kind, argument) of a block's annotation; ("", "") without one."""
    if block.annotation is None:
        return "", ""
    kind, _, argument = block.annotation.partition(",")
    kind, argument = kind.strip(), argument.strip()
    if kind.startswith("with "):
        return "with", kind.removeprefix("with ").strip()
    assert kind in ("invalid", "skip"), f"{block.id}: unknown annotation {block.annotation!r}"
    if kind == "skip":
        assert argument, f"{block.id}: a skip needs a reason"
    if kind == "invalid":
        assert argument.startswith("expect "), f"{block.id}: write 'invalid, expect CODE'"
        argument = argument.removeprefix("expect ").strip()
    return kind, argument


# -- embedding fragments -------------------------------------------------------------------------
@cache
def blueprint() -> tuple[dict[str, Any], dict[str, str]]:
    """The starter blueprint as merged data, and its files that are not merged into it."""
    bundle, problems = read_bundle(BLUEPRINT)
    assert problems == []
    raw, report = load(bundle, None)
    assert report.ok, [p.format() for p in report.problems]
    data = copy.deepcopy(raw.data)
    includes = data.pop("include", [])
    others = {path: text for path, text in bundle.files.items() if not _included(path, includes)}
    return data, others


def _included(path: str, patterns: list[str]) -> bool:
    return path == "portal.yaml" or any(PurePosixPath(path).match(p) for p in patterns)


def merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    """Mappings merge key by key. A list of mappings (grants, transitions, blocks, providers
    …) is extended, an item replacing the one with the same `name` (without names: `type`);
    any other list and a scalar replace the one in `into`."""
    for key, value in part.items():
        old = into.get(key)
        if isinstance(value, dict) and isinstance(old, dict) and _retyped(old, value):
            into[key] = copy.deepcopy(value)  # a field of another type: the example's own
        elif isinstance(value, dict) and isinstance(old, dict):
            merge(old, value)
        elif _is_list_of(value, lambda _: True) and _is_list_of(old, lambda _: True):
            new_ids = {_item_id(item) for item in value} - {None}
            kept = [item for item in old if _item_id(item) not in new_ids]
            into[key] = kept + copy.deepcopy(value)
        else:
            into[key] = copy.deepcopy(value)


def _declares_invoice(part: Any) -> bool:
    """True when `part` declares fields of an `invoice` entity: the example's own invoices."""
    entities = part.get("entities") if isinstance(part, dict) else None
    invoice = entities.get("invoice") if isinstance(entities, dict) else None
    return isinstance(invoice, dict) and "fields" in invoice


def _retyped(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """True when `new` declares a field of another type than `old` (its options differ)."""
    return "type" in old and "type" in new and old["type"] != new["type"]


def _item_id(item: dict[str, Any]) -> Any:
    if "name" in item:
        return ("name", item["name"])
    return ("type", item["type"]) if "type" in item else None


def parse_yaml(text: str, name: str) -> Any:
    """The portal's own YAML reader (so `on:` stays a string key)."""
    parsed = parse_text(text, name)
    assert parsed.problems == [], [p.format() for p in parsed.problems]
    return parsed.data


def definition_keys() -> set[str]:
    return set(checker().schema.get("properties", {}))


def block_types() -> set[str]:
    blocks = checker().schema["$defs"].get("block", {})
    names: set[str] = set()
    for branch in blocks.get("oneOf", blocks.get("anyOf", [])):
        names |= set(branch.get("properties", {}))
    names |= set(blocks.get("properties", {}))
    return names or {"list", "detail", "form", "markdown", "metrics"}


def payment_types() -> set[str]:
    """The `type`s of `payments.providers` entries (a list of those is such an entry)."""
    entry = checker().schema["$defs"].get("payment_provider", {})
    return set(entry.get("properties", {}).get("type", {}).get("enum", []))


def embed(fragment: Any, context: str | None) -> Bundle:
    """The blueprint with `fragment` (and the context it presupposes) in it, as a bundle."""
    data, files = blueprint()
    data = copy.deepcopy(data)
    files = dict(files)
    added = parse_yaml(CONTEXTS[context], "context.yaml") if context is not None else {}
    if context is not None:
        assert context in CONTEXTS, f"unknown context {context!r}"
    if _declares_invoice(added) or _declares_invoice(fragment):
        without_starter_invoices(data, files)
    if context is not None:
        merge(data, added)
    if isinstance(fragment, dict) and fragment and set(fragment) <= SEED_KEYS:
        files["seed/docs-example.yaml"] = json.dumps(fragment, indent=1, default=str)
    elif isinstance(fragment, dict) and fragment and set(fragment) <= definition_keys():
        merge(data, fragment)
    elif _is_list_of(fragment, lambda item: len(item) == 1 and next(iter(item)) in block_types()):
        # a detail (or attachments, feedback, related) block shows the record of its page's <id>
        with_id = any(k in b for b in fragment for k in RECORD_BLOCKS)
        route = "/docs-example/<id>" if with_id else "/docs-example"
        data["pages"]["docs_example"] = {"route": route, "blocks": fragment}
    elif _is_list_of(fragment, lambda item: item.get("type") in payment_types()):
        merge(data, {"payments": {"providers": fragment}})
    elif _is_list_of(fragment, lambda item: "type" in item):
        merge(data, {"auth": {"providers": fragment}})
    elif (
        isinstance(fragment, dict)
        and fragment
        and all(isinstance(v, dict) and "type" in v for v in fragment.values())
    ):
        merge(data, {"entities": {"ticket": {"fields": fragment}}})
    else:
        pytest.fail("cannot tell where this fragment goes: annotate the block or make it whole")
    files["portal.yaml"] = json.dumps(data, indent=1, default=str)
    return Bundle.of(files)


def _is_list_of(value: Any, test: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and test(item) for item in value)
    )


def root_folder(block: Block) -> PurePosixPath | None:
    """The folder of the root file (`# <folder>/portal.yaml`, in the same document) that the
    file a block names belongs to; None for a block that names no file of such a folder."""
    named = block.file_comment
    if named is None:
        return None
    for other in ALL_BLOCKS:
        root = other.file_comment
        if (
            other.document == block.document
            and root
            and PurePosixPath(root).name == "portal.yaml"
            and re.search(r"^(format|portal):", other.text, re.MULTILINE)  # a whole root file
        ):
            folder = PurePosixPath(root).parent
            if folder in PurePosixPath(named).parents:
                return folder
    return None


def folder_files(document: Path, folder: PurePosixPath) -> dict[str, str]:
    """The files of `folder`, from the blocks of `document` that name one."""
    files = {}
    for other in ALL_BLOCKS:
        path = other.file_comment
        if other.document == document and path and folder in PurePosixPath(path).parents:
            files[str(PurePosixPath(path).relative_to(folder))] = other.text
    return files


def check_yaml(block: Block, checker_: Checker | None = None) -> list[Problem]:
    """Every problem the checker reports for a yaml block, embedded as the docstring says."""
    kind, argument = parse_annotation(block)
    data = parse_yaml(block.text, block.id)
    folder = root_folder(block)
    if folder is not None:
        bundle = Bundle.of(folder_files(block.document, folder))
    elif isinstance(data, dict) and ({"format", "portal"} & set(data)):
        bundle = Bundle.of({"portal.yaml": block.text})
    else:
        bundle = embed(data, argument if kind == "with" else None)
    return (checker_ or checker()).check_bundle(bundle, None).report.problems


# -- the plugin of the plugin authors' guide ----------------------------------------------------
PLUGIN_GUIDE = ROOT / "docs" / "guide-plugin-authors.md"
ANY_FENCE = re.compile(r"^```(?P<lang>\w+)\s*$")
SOURCE_HEADER = re.compile(r"^(?:#|\{#)\s*(?P<path>src/[\w./-]+)\s*(?:#\})?$")


@dataclass(frozen=True)
class AcmeProject:
    """The guide's `acme-portalis`, installed into `site`, and its test folder under `work`."""

    site: Path
    work: Path
    checker: Checker


def write_acme_project(base: Path) -> AcmeProject:
    """Write the distribution the guide builds — its source files (code blocks whose first line
    names `src/…`) and, from its pyproject.toml block, the metadata and entry points an
    installer would write — and the guide's test portal (`# tests/portal/…` blocks)."""
    site, work = base / "site", base / "work"
    lines = PLUGIN_GUIDE.read_text(encoding="utf-8").splitlines()
    pyproject: dict[str, Any] = {}
    for i, line in enumerate(lines):
        fence = ANY_FENCE.match(line)
        if fence is None or i + 1 >= len(lines):
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        body = "\n".join(lines[i + 1 : end]) + "\n"
        if fence["lang"] == "toml" and lines[i + 1].strip() == "# pyproject.toml":
            pyproject = tomllib.loads(body)
        header = SOURCE_HEADER.match(lines[i + 1].strip())
        if header is not None:
            target = site / PurePosixPath(header["path"]).relative_to("src")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
    project = pyproject["project"]
    package = site / "acme_portalis"
    (package / "__init__.py").touch()
    info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n",
        encoding="utf-8",
    )
    points = project["entry-points"]
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in names.items())
            for group, names in points.items()
        ),
        encoding="utf-8",
    )
    for path, text in folder_files(PLUGIN_GUIDE, PurePosixPath("tests/portal")).items():
        target = work / "tests" / "portal" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(site))
    try:
        plugins = [importlib.import_module(t) for t in points["portalis.plugins"].values()]
    finally:
        sys.path.remove(str(site))
    engine_plugins = [m for m in plugins if m.__name__.endswith((".plugin", ".blocks"))]
    return AcmeProject(site, work, Checker(default_plugins.plugin_manager(extra=engine_plugins)))


@pytest.fixture(scope="module")
def acme_project(tmp_path_factory: pytest.TempPathFactory) -> AcmeProject:
    return write_acme_project(tmp_path_factory.mktemp("acme"))


YAML_BLOCKS = [b for b in ALL_BLOCKS if b.lang == "yaml"]
CONSOLE_BLOCKS = [b for b in ALL_BLOCKS if b.lang == "console"]


def _params(blocks: list[Block]) -> list[Any]:
    """The blocks to run: all but those annotated `skip, REASON` (not collected at all, so a
    CI run that fails on skipped tests stays green; the reason is checked below)."""
    return [
        pytest.param(block, id=block.id) for block in blocks if parse_annotation(block)[0] != "skip"
    ]


@pytest.mark.parametrize("block", _params(YAML_BLOCKS))
def test_review_11_yaml_example_validates(block: Block, request: pytest.FixtureRequest) -> None:
    kind, argument = parse_annotation(block)
    acme = request.getfixturevalue("acme_project") if argument == "acme-plugin" else None
    problems = check_yaml(block, acme.checker if acme else None)
    if kind == "invalid":
        codes = {p.code for p in problems if p.severity is not Severity.WARNING}
        assert argument in codes, (argument, [p.format() for p in problems])
    else:
        errors = errors_of(problems)
        assert errors == [], "\n".join(errors)


# -- console blocks ------------------------------------------------------------------------------
@dataclass
class Step:
    """A documented command and its documented output."""

    command: str
    output: list[str]


def steps_of(block: Block) -> list[Step]:
    steps: list[Step] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            steps.append(Step(line[2:].strip(), []))
        else:
            assert steps, f"{block.id}: output before the first command"
            steps[-1].output.append(line.rstrip())
    return steps


def matches(documented: list[str], actual: list[str]) -> bool:
    """Line by line; a documented `…` line stands for any number of actual lines."""
    if not documented:
        return not actual
    head, rest = documented[0], documented[1:]
    if head == ELLIPSIS:
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and actual[0] == head and matches(rest, actual[1:])


def run_block(
    block: Block, tmp_path: Path, acme: AcmeProject | None = None
) -> list[tuple[Step, list[str]]]:
    """Run the block's commands; (step, actual output lines) for each. With `acme`, in the
    guide's project folder with its distribution on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALIS_")}
    if acme is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(acme.site), env.get("PYTHONPATH")]))
    env.update(
        PORTALIS_DATABASE_URL=f"sqlite:///{tmp_path / 'docs.sqlite'}",
        PORTALIS_INSTANCE_PATH=str(tmp_path / "instance"),
        PYTHONUNBUFFERED="1",
        COLUMNS="100",
    )
    results, last_code = [], 0
    for step in steps_of(block):
        words = shlex.split(step.command)
        if words[:1] == ["export"]:
            for assignment in words[1:]:
                name, _, value = assignment.partition("=")
                if name != "PORTALIS_DATABASE_URL":
                    env[name] = value.replace("$PWD", str(ROOT))
            results.append((step, []))
            continue
        if words == ["echo", "$?"]:
            results.append((step, [str(last_code)]))
            continue
        extra = {}
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
            name, _, value = words.pop(0).partition("=")
            extra[name] = value
        assert words and words[0] in ("portalis", ".venv/bin/portalis"), step.command
        done = subprocess.run(
            [str(PORTALIS), *words[1:]],
            cwd=acme.work if acme else ROOT,
            env={**env, **extra},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
            check=False,
        )
        last_code = done.returncode
        results.append((step, [line.rstrip() for line in done.stdout.splitlines()]))
    return results


@pytest.mark.parametrize("block", _params(CONSOLE_BLOCKS))
def test_review_11_console_example_runs_as_shown(
    block: Block, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    argument = parse_annotation(block)[1]
    acme = request.getfixturevalue("acme_project") if argument == "acme-plugin" else None
    for step, actual in run_block(block, tmp_path, acme):
        assert matches(step.output, actual), (
            f"$ {step.command}\n--- documented\n"
            + "\n".join(step.output)
            + "\n--- actual\n"
            + "\n".join(actual)
        )


# -- the harness itself ---------------------------------------------------------------------------
def test_review_11_docs_have_examples_and_every_skip_has_a_reason() -> None:
    assert len(YAML_BLOCKS) >= 20 and len(CONSOLE_BLOCKS) >= 3
    for block in ALL_BLOCKS:
        parse_annotation(block)  # asserts the grammar, and a reason for every skip


def test_review_11_wrong_example_is_caught() -> None:
    """The harness fails a block the validator refuses (it does not pass everything)."""
    wrong = Block(ROOT / "README.md", 0, "yaml", "entities:\n  ticket:\n    fields:\n"
                  "      subject: {type: strnig}\n", None)  # fmt: skip
    assert [p.code for p in check_yaml(wrong)] == ["ref-unknown-field-type"]
    assert matches(["a", ELLIPSIS, "z"], ["a", "b", "c", "z"])
    assert not matches(["a", "z"], ["a", "b", "z"])


def test_review_11_scope_hint_names_parent_and_where() -> None:
    """A scope that is no keyword is answered with every form a scope can take."""
    bundle = embed(
        {"entities": {"ticket": {"permissions": [
            {"roles": ["customer"], "actions": ["read"], "scope": "mine"}
        ]}}},
        None,
    )  # fmt: skip
    problems = checker().check_bundle(bundle, None).report.problems
    (problem,) = [p for p in problems if p.code == "schema-value"]
    # the grant is added after the blueprint's five
    assert problem.path_text == "entities.ticket.permissions[5].scope"
    assert "all, account, account_tree, own, self" in problem.hint
    assert "{parent: <ref field>}" in problem.hint
    assert "{where: {<field>: <value>}}" in problem.hint

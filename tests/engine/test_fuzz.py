"""Property tests: no definition, however broken, makes the engine raise.

(a) random text and random YAML as portal.yaml, (b) random mutations of the b2c blueprint,
(c) `portalis validate` on garbage folders. Bounded for CI: 200 examples per property.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.deploy.validator import Checked, Checker
from portalis.engine.problems import CODES, Problem
from portalis.testing.cli import invoke
from portalis.testing.portals import installed_checker

ROOT = Path(__file__).resolve().parents[2]
B2C = ROOT / "blueprints" / "b2c"
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Problems about the folder or a whole file, reported by `read_bundle` before any parsing;
#: they carry a file (or none) but no line. `check_bundle` never produces them.
BUNDLE_LEVEL = frozenset({"file-missing", "file-too-large", "file-encoding", "bundle-too-large"})


@cache
def checker() -> Checker:
    # the installed plugins: the blueprint's invoices are paid through the sandbox plugin's
    return installed_checker()


@cache
def b2c_files() -> dict[str, str]:
    bundle, problems = read_bundle(B2C)
    assert problems == []
    return dict(bundle.files)


@cache
def blueprint_words() -> list[str]:
    """Every short string and key of b2c: swapping them makes schema-valid, wrong definitions."""
    words: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            words.update(k for k in node if isinstance(k, str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and len(node) <= 40:
            words.add(node)

    for name, text in b2c_files().items():
        if name.endswith(".yaml"):
            walk(yaml.safe_load(text))
    return sorted(words)


def assert_consistent(checked: Checked, bundle: Bundle) -> None:
    """Only Problems with known codes and real locations; ok iff a model was built."""
    report = checked.report
    for problem in report.problems:
        assert isinstance(problem, Problem), problem
        assert problem.code in CODES, problem.format()
        assert problem.message, problem.format()
        assert problem.code != "plugin-error", problem.format()  # a built-in check raised
        assert problem.file, problem.format()
        assert problem.file in bundle.files or problem.code == "file-missing", problem.format()
        assert problem.line >= 1 and problem.col >= 1, problem.format()
        problem.format()
        problem.to_dict()
    assert report.ok == (checked.model is not None), [p.format() for p in report.problems]


def check(files: dict[str, str], env: dict[str, str] | None = None) -> Checked:
    bundle = Bundle.of(files)
    checked = checker().check_bundle(bundle, {} if env is None else env)
    assert_consistent(checked, bundle)
    return checked


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML with definition booleans: only true/false (`on:` of automations stays a key)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf")
)


def load_yaml(text: str) -> Any:
    """Parse like the definition loader does (YAML 1.2 booleans)."""
    return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass


# ------------------------------------------------------------------ (a) random portal.yaml

YAMLISH = st.text(
    alphabet=st.sampled_from(list(":-[]{}#&*!|>'\"%@`,?~$<=. \n\t\\abcxyz019_/")), max_size=300
)
KEYS = st.sampled_from(
    [
        "format", "portal", "title", "locales", "currency", "include", "theme", "auth", "roles",
        "entities", "workflows", "pages", "navigation", "seed", "fields", "type", "options", "to",
        "permissions", "roles", "actions", "scope", "parent", "where", "route", "blocks", "list",
        "detail", "form", "metrics", "entity", "columns", "link", "transitions", "from", "name",
        "initial", "field", "check", "rules", "label", "en", "ticket", "status", "<<", "",
    ]
) | st.text(max_size=8)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["yes", "no", "on", "portalis/v1", "account", "ticket", "/", "<id>", "${X}"])
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=30,
)
HEADER = st.fixed_dictionaries(
    {
        "format": st.just("portalis/v1"),
        "portal": st.just("fuzz-portal"),
        "title": st.just("Fuzz"),
        "locales": st.just(["en"]),
    },
    optional={
        key: VALUES
        for key in ("entities", "roles", "pages", "workflows", "navigation", "theme", "auth")
    },
)


@FUZZ
@given(text=st.text(max_size=400) | YAMLISH)
def test_random_text_as_portal_yaml_never_raises(text: str) -> None:
    check({"portal.yaml": text})


@FUZZ
@given(data=VALUES | HEADER)
def test_random_yaml_as_portal_yaml_never_raises(data: Any) -> None:
    check({"portal.yaml": yaml.safe_dump(data, allow_unicode=True)})


# ------------------------------------------------------------------ (b) mutated blueprint

NAMES = st.sampled_from(
    [
        "ticket", "message", "account", "user", "subject", "status", "body", "priority", "open",
        "closed", "customer", "agent", "anonymous", "authenticated", "id", "created_by",
        "created_at", "updated_at", "home", "tickets", "new_ticket", "/", "/login", "/tickets",
        "/tickets/<id>", "/x/<id>/<id>", "all", "own", "self", "$actor.id", "$actor.email",
        "record['status']", "record['nope'] == 1", "().__class__", "1 +", "today()", "${FOO}",
        "../x.yaml", "**/*.yaml", "entities/*.yaml", "assets/portal.css", "choice", "ref",
        "string", "money", "int", "EUR", "EURO", "zz", "en", "-updated_at", "yes", "no", "",
    ]
)  # fmt: skip
DEEP = st.integers(min_value=1, max_value=90).map(lambda n: _nest(n))
MUTANTS = st.one_of(
    NAMES,
    SCALARS,
    st.just("x" * 5000),
    DEEP,
    st.lists(NAMES, max_size=4),
    st.dictionaries(NAMES, NAMES | SCALARS, max_size=3),
    VALUES,
)


def _nest(depth: int) -> Any:
    node: Any = "leaf"
    for i in range(depth):
        node = [node] if i % 2 else {"k": node}
    return node


#: Mostly values of the same shape, so that mutants pass the schema and reach the semantics.
OPS = ["similar", "similar", "similar", "replace", "delete", "duplicate", "rename"]


def similar(value: Any) -> st.SearchStrategy[Any]:
    """A plausible replacement for `value`: same type, names the definition might use."""
    if isinstance(value, bool):
        return st.booleans() | st.just("yes")
    if isinstance(value, int):
        return st.integers(-3, 300) | st.integers()
    if isinstance(value, str):
        return st.sampled_from(blueprint_words()) | NAMES
    if isinstance(value, list):
        return st.lists(NAMES, min_size=1, max_size=4) | st.permutations(value).map(list).map(
            lambda v: [*v, *v[:1]]
        )
    return MUTANTS


def node_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            paths.extend(node_paths(value, (*path, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            paths.extend(node_paths(value, (*path, i)))
    return paths


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def mutate(doc: Any, data: st.DataObject) -> Any:
    """Replace, delete, duplicate or rename one random node of `doc` (a parsed file)."""
    op = data.draw(st.sampled_from(OPS), label="op")
    paths = node_paths(doc)
    if op == "similar":
        paths = [p for p in paths if p and not isinstance(_at(doc, p), dict)] or paths
    path = data.draw(st.sampled_from(paths), label="path")
    if not path:
        return data.draw(MUTANTS, label="new root") if op == "replace" else doc
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if op == "similar":
        parent[last] = data.draw(similar(parent[last]), label="similar value")
    elif op == "replace":
        parent[last] = data.draw(MUTANTS, label="value")
    elif op == "delete":
        del parent[last]
    elif op == "duplicate":
        if isinstance(parent, list):
            parent.insert(data.draw(st.integers(0, len(parent))), copy.deepcopy(parent[last]))
        else:
            parent[data.draw(NAMES, label="copy key")] = copy.deepcopy(parent[last])
    elif isinstance(parent, dict):
        new_key = data.draw(NAMES | st.text(max_size=10), label="new key")
        parent[new_key] = parent.pop(last)
    else:
        parent[last] = data.draw(MUTANTS, label="value")
    return doc


@FUZZ
@given(data=st.data())
def test_mutated_blueprint_never_raises(data: st.DataObject) -> None:
    files = b2c_files()
    definitions = sorted(f for f in files if f.endswith(".yaml") and not f.startswith("seed/"))
    mutated = dict(files)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        name = data.draw(st.sampled_from(definitions), label="file")
        doc = load_yaml(mutated[name])
        doc = mutate(doc, data)
        mutated[name] = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    check(mutated)


_LABEL_KEYS = {
    "label",
    "plural_label",
    "title",
    "description",
    "message",
    "markdown",
    "submit_label",
}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@FUZZ
@given(data=st.data())
def test_swapped_names_in_blueprint_never_raise(data: st.DataObject) -> None:
    """Swap names for other names of the blueprint: schema-valid, semantically wrong mutants."""
    files = b2c_files()
    definitions = sorted(f for f in files if f.endswith(".yaml") and not f.startswith("seed/"))
    names = [w for w in blueprint_words() if _NAME.match(w)]
    mutated = dict(files)
    for _ in range(data.draw(st.integers(1, 2), label="swaps")):
        file = data.draw(st.sampled_from(definitions), label="file")
        doc = load_yaml(mutated[file])
        leaves = [
            p
            for p in node_paths(doc)
            if p
            and isinstance(_at(doc, p), str)
            and not _LABEL_KEYS & {k for k in p[-2:] if isinstance(k, str)}
            and p[-1] not in ("type", "format")
        ]
        path = data.draw(st.sampled_from(leaves), label="path")
        old = _at(doc, path)
        pool = names if _NAME.match(old) else blueprint_words()
        _at(doc, path[:-1])[path[-1]] = data.draw(st.sampled_from(pool), label="new")
        mutated[file] = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    check(mutated)


def test_unmutated_blueprint_round_trip_is_valid() -> None:
    """The baseline of the mutation test: b2c re-dumped by safe_dump is still valid."""
    files = {
        name: yaml.safe_dump(load_yaml(text), allow_unicode=True, sort_keys=False)
        if name.endswith(".yaml")
        else text
        for name, text in b2c_files().items()
    }
    checked = check(files)
    assert checked.report.ok, [p.format() for p in checked.report.problems]


# ------------------------------------------------------------------ (c) the CLI on garbage


def _garbage(tmp: Path) -> list[Path]:
    folders: dict[str, dict[str, bytes] | None] = {
        "binary-junk": {"portal.yaml": bytes(range(256)) * 8},
        "empty-file": {"portal.yaml": b""},
        "comment-only": {"portal.yaml": b"# nothing here\n"},
        "two-megabytes": {"portal.yaml": b"title: " + b"x" * 2_000_000 + b"\n"},
        "deep-brackets": {"portal.yaml": b"[" * 100_000},
        "deep-braces": {"portal.yaml": b"{a: " * 20_000 + b"1" + b"}" * 20_000},
        "nul-bytes": {"portal.yaml": b"format: portalis/v1\x00\nportal: x\n"},
        "bad-json": {"portal.json": b'{"format": "portalis/v1", "portal": '},
        "alias-bomb": {
            "portal.yaml": b"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + b"".join(
                f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n".encode()
                for p, n in zip("abcdefg", "bcdefgh", strict=True)
            )
        },
        "include-everything": {
            "portal.yaml": b"include: ['**', '../*', '/etc/passwd', '[', '**/**/**/**']\n",
            "x/y.yaml": b"include: [portal.yaml]\n",
        },
        "empty-folder": {},
        "portal-yaml-is-a-dir": None,
    }
    out = []
    for name, files in folders.items():
        folder = tmp / name
        folder.mkdir()
        if files is None:
            (folder / "portal.yaml").mkdir()
            (folder / "portal.yaml" / "portal.yaml").write_text("format: portalis/v1\n")
        else:
            for rel, content in files.items():
                target = folder / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
        out.append(folder)
    return out


def test_garbage_folders_give_problems_and_only_bundle_level_ones_lack_a_line(
    tmp_path: Path,
) -> None:
    for folder in _garbage(tmp_path):
        checked = checker().check_dir(folder, {})
        problems = checked.report.problems
        assert problems and not checked.report.ok and checked.model is None, folder.name
        for problem in problems:
            assert problem.code in CODES, problem.format()
            if problem.line < 1:
                assert problem.code in BUNDLE_LEVEL, f"{folder.name}: {problem.format()}"


def test_validate_cli_never_prints_traceback(tmp_path: Path) -> None:
    """`portalis validate` on every garbage folder, in the test process (an escaping exception
    comes back as the traceback the process would print; test_cli_validate runs the script)."""
    failures = []
    for folder in _garbage(tmp_path):
        result = invoke("validate", folder)
        output = result.stdout + result.stderr
        if "Traceback" in output or result.returncode != 1 or "invalid" not in result.stdout:
            failures.append(f"{folder.name}: exit {result.returncode}\n{output[-2000:]}")
    assert not failures, "\n\n".join(failures)

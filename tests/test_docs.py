"""The generated reference is current and documents every problem code, hook and field type."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from types import ModuleType

import pytest

from portalis.engine import problems
from portalis.engine.docs import docgen, hookdoc
from portalis.engine.docs.refdoc import field_type_anchor
from portalis.engine.plugins import field_types, make_plugin_manager
from portalis.runtime.docgen import first_party_plugin_manager

ROOT = Path(__file__).resolve().parent.parent
PLATFORM = ROOT / "platform"
DOCS = ROOT / "docs"
REFERENCE = DOCS / docgen.REFERENCE_NAME
PLUGINS = DOCS / docgen.PLUGINS_NAME
#: The built-in field types (entry-point plugins are not part of the reference).
FIELD_TYPES = field_types(make_plugin_manager(load_entrypoints=False))


# Calls that make a definition problem, and where their code is: `Problem(code, …)`,
# `source.problem(code, …)`, `ctx.add(code, …)`; `ExpressionError(…, code=…)` becomes a
# problem when the compiler catches it.
CODE_FIRST = {"Problem", "problem"}
CODE_KEYWORD_ONLY = {"ExpressionError"}
# Method names too common to treat as problem wrappers whatever their receiver.
GENERIC_METHODS = {"add", "append", "extend", "update", "get", "pop"}


def _callee(func: ast.expr) -> tuple[str, bool]:
    """(name, called as an attribute) of a call's target."""
    if isinstance(func, ast.Name):
        return func.id, False
    if isinstance(func, ast.Attribute):
        return func.attr, True
    return "", False


def _receiver(func: ast.expr) -> str:
    if not isinstance(func, ast.Attribute):
        return ""
    owner = func.value
    return owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")


def _code_argument(call: ast.Call, wrappers: dict[str, tuple[int, bool]]) -> ast.expr | None:
    """The expression passed as the problem code, if `call` makes a problem."""
    keyword = next((kw.value for kw in call.keywords if kw.arg == "code"), None)
    name, via_attribute = _callee(call.func)
    if name in CODE_KEYWORD_ONLY:
        return keyword
    index: int | None = None
    if name in CODE_FIRST or (name == "add" and _receiver(call.func) == "ctx"):
        index = 0
    elif name in wrappers and not (via_attribute and name in GENERIC_METHODS):
        position, is_method = wrappers[name]
        index = position - 1 if is_method and via_attribute else position
    if index is None:
        return None
    return call.args[index] if 0 <= index < len(call.args) else keyword


def _problem_wrappers(trees: list[ast.Module]) -> dict[str, tuple[int, bool]]:
    """Functions that pass their `code` parameter on to a problem: name → (index, method)."""
    wrappers: dict[str, tuple[int, bool]] = {}
    changed = True
    while changed:  # wrappers of wrappers
        changed = False
        for tree in trees:
            for node in ast.walk(tree):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
                if "code" not in params or node.name in wrappers:
                    continue
                passes_code = any(
                    isinstance(call, ast.Call)
                    and isinstance(arg := _code_argument(call, wrappers), ast.Name)
                    and arg.id == "code"
                    for call in ast.walk(node)
                )
                if passes_code:
                    is_method = bool(params) and params[0] in ("self", "cls")
                    wrappers[node.name] = (params.index("code"), is_method)
                    changed = True
    return wrappers


def used_problem_codes() -> dict[str, list[str]]:
    """Literal problem codes used under platform/, with where they occur."""
    paths = sorted(PLATFORM.rglob("*.py"))
    trees = [ast.parse(p.read_text(encoding="utf-8"), filename=str(p)) for p in paths]
    wrappers = _problem_wrappers(trees)
    used: dict[str, list[str]] = {}
    for path, tree in zip(paths, trees):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            arg = _code_argument(node, wrappers)
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                used.setdefault(arg.value, []).append(where)
    return used


def test_generated_docs_are_current() -> None:
    stale = docgen.check(DOCS, first_party_plugin_manager())
    assert not stale, (
        "generated documentation is out of date: "
        + ", ".join(str(p) for p in stale)
        + f"; regenerate with: {docgen.REGENERATE}"
    )


def test_every_problem_code_documented() -> None:
    used = used_problem_codes()
    assert used, "found no problem codes; has the scan stopped matching the code?"
    missing = {code: where for code, where in sorted(used.items()) if code not in problems.CODES}
    assert not missing, f"problem codes used but not in problems.CODES: {missing}"
    reference = REFERENCE.read_text(encoding="utf-8")
    undocumented = [code for code in problems.CODES if f"`{code}`" not in reference]
    assert not undocumented, f"codes missing from {REFERENCE.name}: {undocumented}"


def _spec_functions(module: ModuleType) -> list[str]:
    """The names of `module`'s hookspecs, as pluggy sees them (sorted by source line)."""
    marked = [
        obj
        for _, obj in inspect.getmembers(module, inspect.isfunction)
        if hasattr(obj, "portalis_spec") and obj.__module__ == module.__name__
    ]
    return [f.__name__ for f in sorted(marked, key=lambda f: f.__code__.co_firstlineno)]


@pytest.mark.parametrize(("layer", "module"), [(h, m) for h, m, _ in hookdoc.LAYERS])
def test_every_hook_documented_under_its_layer(layer: str, module: str) -> None:
    """Both hookspec modules are read from source (the engine may not import the runtime):
    the reading finds exactly the hookspecs Python sees, and plugins.md documents each one
    under its layer's heading, with the docstring saying when it runs."""
    imported = importlib.import_module(module)
    read = hookdoc.hook_docs(module)
    assert [h.name for h in read] == _spec_functions(imported)
    assert read, f"found no hookspecs in {module}"
    text = PLUGINS.read_text(encoding="utf-8")
    sections = text.split("\n## ")
    section = next(s for s in sections if s.startswith(f"{layer}\n"))
    for hook in read:
        assert hook.doc == inspect.getdoc(getattr(imported, hook.name))
        assert "When" in hook.doc, f"{hook.name}: the docstring must say when the hook runs"
        assert f"### `{hook.name}`" in section, f"{hook.name} is missing under {layer}"
        assert hook.signature in section


def test_hooks_are_split_by_layer_and_typed() -> None:
    """No hook is declared twice, none returns `Any`, and the engine's hooks name no
    runtime type (their results must be usable without the web layer)."""
    hooks = hookdoc.all_hooks()
    names = [h.name for h in hooks]
    assert len(names) == len(set(names))
    untyped = [h.signature for h in hooks if "Any" in h.signature or " -> " not in h.signature]
    assert untyped == []
    runtime_types = ("BlockType", "ProviderType", "SecondFactor", "PortalRoute", "MetaData")
    engine_hooks = hookdoc.hook_docs("portalis.engine.hookspecs")
    assert [h.name for h in engine_hooks if any(t in h.signature for t in runtime_types)] == []


@pytest.mark.parametrize("name", FIELD_TYPES.names())
def test_every_field_type_documented(name: str) -> None:
    ftype = FIELD_TYPES[name]
    assert ftype.description.strip(), f"field type {name} has no description"
    reference = REFERENCE.read_text(encoding="utf-8")
    assert f"### Field type: `{name}`" in reference
    assert f"(#{field_type_anchor(name)})" in reference

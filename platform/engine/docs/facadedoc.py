"""The reference of the public facades `portalis.api` and `portalis.web`, read from source.

The facades sit on top of the engine and the runtime, so the engine must not import them
(`portalis.web` would pull in Flask). This module reads their source instead: `__all__`,
where each name comes from, and the docstring of the class or function it names — or, for a
marker, alias or constant, the `#:` comment above its assignment (in the facade, else in the
module that defines it). `tests/test_public_api.py` checks the result against the imported
facades, so the static reading cannot drift from what Python sees.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .refdoc import table

#: The folder of the `portalis` namespace portion that holds the engine (`platform/`).
ROOT = Path(__file__).resolve().parents[2]
#: The facades in the order they are documented.
FACADES = ("portalis.api", "portalis.web")
#: How deep an alias chain (`hookimpl = hookspecs.hookimpl`) is followed.
_MAX_HOPS = 6

SEMVER = """\
Names in a facade's `__all__` are the public contract and follow semantic versioning:
removing a name, or changing its meaning or signature incompatibly, is a major version change;
adding a name (or an optional parameter) is a minor version change. Anything else in
`portalis` — `portalis.engine.*`, `portalis.runtime.*`, names starting with `_` — may move or
change in any release. A plugin imports only `portalis.api`, `portalis.web` and, in its tests,
`portalis.testing` (an import-linter contract enforces this for the first-party plugins)."""


@dataclass(frozen=True, slots=True)
class PublicName:
    """One name of a facade: what it is and its documentation."""

    name: str
    #: "class", "function" or "value"
    kind: str
    #: `class Name(Base)` / `def name(…) -> …` / `name` (for values)
    signature: str
    doc: str
    #: the module that defines it (`portalis.engine.definition.model`)
    origin: str


def module_path(module: str) -> Path | None:
    """The source file of a `portalis.*` module, or None when there is none."""
    parts = module.split(".")
    if parts[0] != "portalis" or len(parts) < 2:
        return None
    base = ROOT.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def parsed_source(path: Path) -> tuple[ast.Module, tuple[str, ...]]:
    """The syntax tree and lines of a source file (read once)."""
    text = path.read_text(encoding="utf-8")
    return ast.parse(text), tuple(text.splitlines())


def _absolute(module: str, node: ast.ImportFrom) -> str:
    """The absolute module name of `from <node.module> import …` inside `module`."""
    if not node.level:
        return node.module or ""
    is_package = (module_path(module) or Path()).name == "__init__.py"
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _comment_above(lines: tuple[str, ...], lineno: int) -> str:
    """The `#:` comment block right above line `lineno` (1-based), without the markers."""
    found: list[str] = []
    index = lineno - 2
    while index >= 0 and lines[index].lstrip().startswith("#:"):
        found.insert(0, lines[index].lstrip()[2:].strip())
        index -= 1
    return " ".join(found)


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, name: str) -> str:
    """The definition line under the public `name` (which may differ from the defined one)."""
    if isinstance(node, ast.ClassDef):
        bases = ", ".join(ast.unparse(b) for b in node.bases)
        return f"class {name}({bases})" if bases else f"class {name}"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"def {name}({ast.unparse(node.args)}){returns}"


def _lookup(module: str, name: str, hops: int = 0) -> tuple[str, ast.stmt | None, str]:
    """(defining module, defining statement, `#:` comment) of `module.name`, following
    imports and `alias = other.name` assignments."""
    path = module_path(module)
    if path is None or hops > _MAX_HOPS:
        return module, None, ""
    tree, lines = parsed_source(path)
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name == name:
                return module, node, ""
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    source = _absolute(module, node)
                    if module_path(f"{source}.{alias.name}") is not None:
                        return f"{source}.{alias.name}", None, ""  # a module
                    return _lookup(source, alias.name, hops + 1)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return _assigned(module, node, _comment_above(lines, node.lineno), hops)
    return module, None, ""


def _assigned(
    module: str, node: ast.Assign | ast.AnnAssign, comment: str, hops: int
) -> tuple[str, ast.stmt | None, str]:
    """What an assignment names: the class or function it re-binds (`x = other.y`), else
    the assignment itself with its comment."""
    value = node.value
    chain: list[str] = []
    while isinstance(value, ast.Attribute):
        chain.insert(0, value.attr)
        value = value.value
    if isinstance(value, ast.Name) and len(chain) <= 1:
        target_module, target, target_comment = (
            _lookup(module, value.id, hops + 1)
            if not chain
            else _lookup(_module_of(module, value.id), chain[0], hops + 1)
        )
        if isinstance(target, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            return target_module, target, comment
        return target_module, node, comment or target_comment
    return module, node, comment


def _module_of(module: str, local: str) -> str:
    """The module a local name of `module` is bound to by `from … import local`."""
    path = module_path(module)
    if path is not None:
        for node in parsed_source(path)[0].body:
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if (alias.asname or alias.name) == local:
                        return f"{_absolute(module, node)}.{alias.name}"
    return module


def facade_all(facade: str) -> list[str]:
    """The `__all__` of a facade, as written."""
    path = module_path(facade)
    if path is None:
        return []
    for node in parsed_source(path)[0].body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return [str(v) for v in ast.literal_eval(node.value)]
    return []


def public_names(facade: str) -> list[PublicName]:
    """Every name of the facade's `__all__`, documented (`doc` is "" when it is not)."""
    found = []
    for name in facade_all(facade):
        origin, node, comment = _lookup(facade, name)
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            doc = ast.get_docstring(node) or ""
            found.append(PublicName(name, kind, _signature(node, name), doc, origin))
        else:
            found.append(PublicName(name, "value", name, comment, origin))
    return found


def _module_summary(facade: str) -> str:
    path = module_path(facade)
    doc = ast.get_docstring(parsed_source(path)[0]) if path is not None else None
    return (doc or "").split("\n\n", 1)[0].replace("\n", " ")


def facade_reference() -> list[str]:
    """The Markdown section documenting both facades (appended to `plugins.md`)."""
    lines = ["## Public API: `portalis.api` and `portalis.web`", "", *SEMVER.splitlines(), ""]
    for facade in FACADES:
        names = public_names(facade)
        lines += [f"### `{facade}`", "", _module_summary(facade), ""]
        rows = [[f"`{n.name}`", n.kind, n.doc.split("\n\n", 1)[0]] for n in names]
        lines += [*table(("Name", "Kind", "Summary"), rows), ""]
        for item in names:
            lines += [f"#### `{facade}.{item.name}`", ""]
            if item.kind != "value":
                lines += ["```python", item.signature, "```", ""]
            lines += [item.doc or "*Undocumented.*", ""]
    return lines

"""The hook reference, by layer, read from the hookspec modules' source.

The engine's hooks are in `portalis.engine.hookspecs`, the runtime's in
`portalis.runtime.hookspecs`. The engine must not import the runtime, so this module reads
both from source (like `facadedoc` reads the facades): every top-level function decorated
with `@hookspec` or `@hookspec(...)`, its signature as written, its options and docstring.
`tests/test_docs.py` checks the reading against the imported hookspecs.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .facadedoc import module_path, parsed_source
from .refdoc import table

#: (heading, hookspec module, what the layer's hooks are for), in the order documented.
LAYERS = (
    (
        "Engine hooks",
        "portalis.engine.hookspecs",
        "What a plugin adds to definitions, checked and compiled without a web server (their "
        "types come from `portalis.api`; a plugin that implements only these needs no Flask).",
    ),
    (
        "Runtime hooks",
        "portalis.runtime.hookspecs",
        "What a plugin adds to the served application: blocks, sign-in providers, second "
        "factors, portal routes, templates and tables (their types come from `portalis.web`).",
    ),
)


@dataclass(frozen=True, slots=True)
class HookDoc:
    """One hookspec as written in its module."""

    name: str
    #: the hookspec module (`portalis.engine.hookspecs`)
    module: str
    #: `def name(arg: Type, …) -> Result`
    signature: str
    doc: str
    firstresult: bool = False
    historic: bool = False

    @property
    def summary(self) -> str:
        """The first paragraph of the docstring, on one line."""
        return self.doc.split("\n\n", 1)[0].replace("\n", " ")


def _spec_options(node: ast.FunctionDef) -> dict[str, object] | None:
    """The options of a `@hookspec` decorator on `node`, or None when it has none."""
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Name) and decorator.id == "hookspec":
            return {}
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Name)
            and decorator.func.id == "hookspec"
        ):
            return {k.arg: ast.literal_eval(k.value) for k in decorator.keywords if k.arg}
    return None


def hook_docs(module: str) -> list[HookDoc]:
    """Every hookspec of `module`, in source order (none when the module is not found)."""
    path = module_path(module)
    if path is None:
        return []
    found = []
    for node in parsed_source(path)[0].body:
        if not isinstance(node, ast.FunctionDef):
            continue
        options = _spec_options(node)
        if options is None:
            continue
        returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
        signature = f"def {node.name}({ast.unparse(node.args)}){returns}"
        doc = ast.get_docstring(node) or ""
        found.append(
            HookDoc(
                node.name,
                module,
                signature,
                doc,
                firstresult=bool(options.get("firstresult")),
                historic=bool(options.get("historic")),
            )
        )
    return found


def all_hooks() -> list[HookDoc]:
    """The hooks of every layer, engine first."""
    return [hook for _, module, _ in LAYERS for hook in hook_docs(module)]


def _hook_section(hook: HookDoc) -> list[str]:
    calling = (
        "firstresult — the first non-None answer wins"
        if hook.firstresult
        else "Not firstresult — every plugin's answer is collected"
    )
    if hook.historic:
        calling += "; historic — plugins registered later are called too"
    code = ["```python", hook.signature, "```"]
    return [f"### `{hook.name}`", "", *code, "", f"*{calling}.*", "", hook.doc, ""]


def hook_reference() -> list[str]:
    """The Markdown sections of both layers: a summary table each, then every hook."""
    lines: list[str] = []
    for heading, module, purpose in LAYERS:
        hooks = hook_docs(module)
        lines += [f"## {heading}", "", f"Declared in `{module}`. {purpose}", ""]
        rows = [[f"[`{h.name}`](#{h.name})", h.summary] for h in hooks]
        lines += [*table(("Hook", "Summary"), rows), ""]
        for hook in hooks:
            lines += _hook_section(hook)
    return lines

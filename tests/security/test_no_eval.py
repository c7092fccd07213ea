"""ASVS 1.3.2 (SECURITY A.33): no eval/exec/compile/__import__ outside the expression sandbox."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("platform", "plugins")
DYNAMIC_CODE = frozenset({"eval", "exec", "compile"})
SANDBOX = "platform/engine/expr/expressions.py"
RESTRICTED_COMPILERS = frozenset(
    {"compile_restricted", "compile_restricted_eval", "compile_restricted_exec"}
    | {"compile_restricted_function", "compile_restricted_single"}
)


def python_files() -> list[Path]:
    return sorted(
        path
        for folder in SCANNED
        if (ROOT / folder).is_dir()
        for path in (ROOT / folder).rglob("*.py")
        if not {".venv", "build"} & set(path.parts)
    )


def scan(relative: str, source: str) -> tuple[list[str], list[ast.Call]]:
    """Offences in one file, and the sandbox's own eval calls (allowed only in `SANDBOX`)."""
    offences: list[str] = []
    sanctioned: list[ast.Call] = []
    for node in ast.walk(ast.parse(source, filename=relative)):
        where = f"{relative}:{getattr(node, 'lineno', 0)}"
        # __import__ as a name or an attribute (builtins.__import__); a string is not code.
        if isinstance(node, ast.Name) and node.id == "__import__":
            offences.append(f"{where}: __import__")
        elif isinstance(node, ast.Attribute) and node.attr == "__import__":
            offences.append(f"{where}: .__import__")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in DYNAMIC_CODE:
                if relative == SANDBOX and func.id == "eval":
                    sanctioned.append(node)
                else:
                    offences.append(f"{where}: {func.id}()")
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in RESTRICTED_COMPILERS and relative != SANDBOX:
                offences.append(f"{where}: {name}() outside the sandbox module")
    return offences, sanctioned


def test_asvs_1_3_2_no_eval_outside_sandbox() -> None:
    files = python_files()
    assert any(path.relative_to(ROOT).as_posix() == SANDBOX for path in files)
    offences: list[str] = []
    sanctioned: list[ast.Call] = []
    for path in files:
        relative = path.relative_to(ROOT).as_posix()
        found, evals = scan(relative, path.read_text(encoding="utf-8"))
        offences += found
        sanctioned += evals
    assert offences == []
    # The sandbox has exactly one eval: of the code object RestrictedPython compiled, with an
    # explicit namespace (so Python never supplies the real builtins).
    assert len(sanctioned) == 1
    (call,) = sanctioned
    assert ast.unparse(call.args[0]) == "self._code"
    assert len(call.args) == 2 and not call.keywords


def test_asvs_1_3_2_scan_sees_every_form() -> None:
    source = (
        "import builtins\nfrom RestrictedPython import compile_restricted_exec\n"
        "eval('1')\nexec('x')\ncompile('1', 'f', 'eval')\nbuiltins.__import__('os')\n"
        "__import__('os')\ncompile_restricted_exec('x')\n"
    )
    offences, sanctioned = scan("plugins/evil/evil.py", source)
    assert len(offences) == 6 and sanctioned == []
    offences, sanctioned = scan(SANDBOX, "eval(code, {})\nexec('x')\n")
    assert len(offences) == 1 and len(sanctioned) == 1

"""Text templates of definitions (notification subjects and bodies), sandboxed and bounded.

Templates are compiled once, when the definition is compiled (HTML templates of printouts
with autoescaping, `compile_markup`), in Jinja's immutable sandboxed
environment: no attribute starting with `_`, no mutation of passed-in objects, `range` capped.
Operators whose result size depends on their operands (``*``, ``**``) are intercepted and
refused beyond small bounds, and the rendered text is capped, so a template can neither reach
Python internals (SECURITY A.35, Frappe CVE-2025-68929) nor exhaust memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Final

from jinja2 import StrictUndefined, Template, TemplateError, Undefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = ["MAX_OUTPUT", "TemplateProblem", "compile_markup", "compile_text", "render_text"]

#: Longest rendered text (characters); longer output is an error, not a truncated mail.
MAX_OUTPUT: Final = 100_000
_MAX_POWER: Final = 1000
_MAX_REPEAT: Final = 100_000


class TemplateProblem(Exception):
    """A template that does not compile or fails to render; `line` when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class _BoundedEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > _MAX_POWER:
                raise SecurityError("exponent too large")
            return left**right
        size = 1
        for side, other in ((left, right), (right, left)):
            if isinstance(side, str | list | tuple) and isinstance(other, int):
                size = len(side) * other
        if size > _MAX_REPEAT:
            raise SecurityError("result too large")
        return left * right


@cache
def _environment(strict: bool, markup: bool = False) -> _BoundedEnvironment:
    # one environment per process is enough: it holds configuration, not data
    return _BoundedEnvironment(
        autoescape=markup,
        undefined=StrictUndefined if strict else Undefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def compile_text(source: str) -> Template:
    """Compile a template once; TemplateProblem (with the line) when it is not valid Jinja."""
    try:
        return _environment(False).from_string(source)
    except TemplateError as exc:
        raise TemplateProblem(str(exc.message or exc), getattr(exc, "lineno", None)) from None


def compile_markup(source: str) -> Template:
    """Compile an HTML template once (printouts): like `compile_text`, but every value is
    escaped unless it is already markup, so a record's text cannot inject elements."""
    try:
        return _environment(False, True).from_string(source)
    except TemplateError as exc:
        raise TemplateProblem(str(exc.message or exc), getattr(exc, "lineno", None)) from None


def render_text(template: Template, context: Mapping[str, Any], limit: int = MAX_OUTPUT) -> str:
    """Render with `context`; TemplateProblem on any failure or a result over `limit`."""
    try:
        text = template.render(dict(context))
    except (TemplateError, ArithmeticError, TypeError, ValueError) as exc:
        raise TemplateProblem(f"the template failed: {exc}") from None
    if len(text) > limit:
        raise TemplateProblem(f"the rendered text is longer than {limit} characters")
    return text

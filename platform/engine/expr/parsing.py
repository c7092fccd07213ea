"""Parsing expression text, bounded: one Python expression, limited in length, node count
and nesting depth (checked iteratively, so deep nesting cannot exhaust the stack of the checker
itself), with errors located by line and character column inside the expression."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Final

from ..problems import PortalisError

MAX_SOURCE_CHARS: Final = 2_000
MAX_NODES: Final = 300
MAX_DEPTH: Final = 30

#: Operator and context nodes are part of their parent, not separate expression nodes.
NOT_COUNTED: Final = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)
_NEWLINE: Final = re.compile(r"\r\n|\r|\n")
_EXAMPLE: Final = "record['due'] is None or record['due'] >= today()"


class ExpressionError(PortalisError):
    """An expression is not acceptable; raised when it is compiled (definition time).

    `code` is one of `expression-syntax`, `expression-forbidden`, `expression-name`,
    `expression-too-large`; `line` and `col` (1-based, 0 when unknown) locate the problem
    inside the expression text; `hint` says how to fix it.
    """

    code = "expression-syntax"

    def __init__(
        self, message: str, *, code: str, line: int = 0, col: int = 0, hint: str = ""
    ) -> None:
        super().__init__(message, code=code)
        self.line = line
        self.col = col
        self.hint = hint


def tree_source(source: str) -> str:
    """The text Python parses: `source` without its leading indent."""
    # Python refuses a leading indent even in eval mode; YAML values often carry one.
    return source.lstrip(" \t")


def parse(source: str) -> tuple[ast.Expression, int]:
    """The tree of `source` and the indent removed before parsing it; or `ExpressionError`."""
    if len(source) > MAX_SOURCE_CHARS:
        raise ExpressionError(
            f"expression is longer than {MAX_SOURCE_CHARS:,} characters",
            code="expression-too-large",
            hint="move the logic into a plugin function",
        )
    text = tree_source(source)
    shift = len(source) - len(text)
    if not text.strip():
        raise ExpressionError("expression is empty", code="expression-syntax", hint=_EXAMPLE)
    try:
        tree = ast.parse(text, filename="<expression>", mode="eval")
    except SyntaxError as exc:
        message = exc.msg or "invalid syntax"
        too_deep = "too many nested" in message
        line = exc.lineno or 0
        col = (exc.offset or 0) + (shift if line == 1 and exc.offset else 0)
        if too_deep:
            hint = f"nest at most {MAX_DEPTH} levels"
        elif "\n" in text:
            hint = "wrap an expression spanning several lines in parentheses"
        else:
            hint = f"write one Python expression, e.g. {_EXAMPLE}"
        raise ExpressionError(
            f"not a valid expression: {message}",
            code="expression-too-large" if too_deep else "expression-syntax",
            line=line,
            col=col,
            hint=hint,
        ) from None
    except (RecursionError, MemoryError, ValueError):
        # The parser gives up on absurd nesting; NUL bytes are a ValueError on some versions.
        raise ExpressionError(
            "expression is nested too deeply or is not text",
            code="expression-too-large",
            hint=f"nest at most {MAX_DEPTH} levels",
        ) from None
    return tree, shift


@dataclass(frozen=True, slots=True)
class Locator:
    """Turns AST positions (UTF-8 byte offsets) into 1-based character columns."""

    text: str
    shift: int

    def __call__(self, node: ast.AST) -> tuple[int, int]:
        line = getattr(node, "lineno", 0)
        offset = getattr(node, "col_offset", -1)
        lines = _NEWLINE.split(self.text)
        if not 0 < line <= len(lines) or offset < 0:
            return line, 0
        col = len(lines[line - 1].encode()[:offset].decode("utf-8", "ignore")) + 1
        return line, col + (self.shift if line == 1 else 0)

    def error(self, node: ast.AST, code: str, message: str, hint: str = "") -> ExpressionError:
        """An `ExpressionError` located at `node`."""
        line, col = self(node)
        return ExpressionError(message, code=code, line=line, col=col, hint=hint)


def check_size(tree: ast.Expression, locate: Locator) -> None:
    """Refuse a tree with more than `MAX_NODES` nodes or deeper than `MAX_DEPTH`."""
    # Iterative on purpose: a recursive walk is what deep nesting is meant to break.
    count = 0
    pending: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while pending:
        node, depth = pending.pop()
        count += 1
        if count > MAX_NODES:
            raise locate.error(
                node,
                "expression-too-large",
                f"expression has more than {MAX_NODES} syntax nodes",
                "split it or move the logic into a plugin function",
            )
        if depth > MAX_DEPTH:
            raise locate.error(
                node,
                "expression-too-large",
                f"expression nests deeper than {MAX_DEPTH} levels",
                "flatten it, e.g. use sum([...]) instead of a long chain of +",
            )
        pending.extend(
            (child, depth + 1)
            for child in ast.iter_child_nodes(node)
            if not isinstance(child, NOT_COUNTED)
        )

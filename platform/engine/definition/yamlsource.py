"""Parse one YAML/JSON text into plain data plus a source map (file:line:col per node).

Only PyYAML's composer runs (never a constructor), so no tag can build Python objects. Scalars
are resolved here with Portalis rules: booleans are only `true`/`false`; `yes`, `no`, `on`,
`off` stay strings; timestamps stay strings. Alias expansion, node count and depth are capped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..problems import JsonPath, Problem

MAX_NODES = 200_000
MAX_DEPTH = 64

_IMPLICIT = "tag:portalis.dev,2026:implicit"
#: the explicit tags a definition may carry (plain data only; the edit layer allows the same)
ALLOWED_TAGS = _ALLOWED_EXPLICIT = frozenset(
    {
        "tag:yaml.org,2002:str",
        "tag:yaml.org,2002:map",
        "tag:yaml.org,2002:seq",
    }
)
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+)([eE][-+]?[0-9]+)?$")
_NULLS = frozenset({"null", "Null", "NULL", "~", ""})
YAML11_BOOLS = frozenset(
    {"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y",
     "n", "N", "True", "TRUE", "False", "FALSE"}
)  # fmt: skip
_ENV = re.compile(r"\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Loader(yaml.SafeLoader):
    """SafeLoader whose resolver marks implicit tags so explicit ones can be told apart."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        return _IMPLICIT


_FastBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FastLoader(_FastBase):  # type: ignore[misc]
    """The same over libyaml: about ten times faster on large definitions."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        return _IMPLICIT


#: Above this nesting the C composer is not used: it recurses without a depth limit.
_C_SAFE_DEPTH = 200
_INDENT = re.compile(r"^[ \t]*", re.MULTILINE)


def _loader_for(text: str) -> type[Any]:
    """libyaml for ordinary documents; the pure-Python loader for deeply nested ones,
    whose recursion is bounded by Python (a RecursionError, reported as a problem)."""
    if text.count("[") + text.count("{") > _C_SAFE_DEPTH:
        depth = deepest = 0
        for char in text:
            if char in "[{":
                depth += 1
                deepest = max(deepest, depth)
            elif char in "]}":
                depth -= 1
        if deepest > _C_SAFE_DEPTH:
            return _Loader
    if max((len(m) for m in _INDENT.findall(text)), default=0) > 2 * _C_SAFE_DEPTH:
        return _Loader
    return _FastLoader


@dataclass(frozen=True, slots=True)
class Pos:
    """A position in a bundle file (1-based line and column)."""

    file: str
    line: int
    col: int


@dataclass(slots=True)
class Parsed:
    """Result of parsing one file: data (None on failure), positions and problems."""

    data: Any = None
    positions: dict[JsonPath, Pos] = field(default_factory=dict)
    key_positions: dict[JsonPath, Pos] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    env_refs: set[str] = field(default_factory=set)
    #: paths of scalars that are exactly one `${NAME}` reference (secrets must be)
    env_paths: set[JsonPath] = field(default_factory=set)


class _TooMany(Exception):
    pass


def parse_text(
    text: str, file: str, env: Mapping[str, str] | None = None, *, base: JsonPath = ()
) -> Parsed:
    """Parse `text` (YAML or JSON) from `file`. `env` substitutes `${NAME}`; None leaves it."""
    out = Parsed()
    try:
        nodes = list(yaml.compose_all(text, Loader=_loader_for(text)))
    except yaml.MarkedYAMLError as exc:
        out.problems.append(_syntax_problem(exc, file, text))
        return out
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        out.problems.append(
            Problem(
                "yaml-syntax",
                f"control character {exc.character!r} is not allowed in YAML",
                file=file,
                line=line,
                col=col,
                hint="remove the invisible character (often pasted from a PDF or a word processor)",
            )
        )
        return out
    except yaml.YAMLError as exc:
        out.problems.append(Problem("yaml-syntax", str(exc), file=file, line=1, col=1))
        return out
    except RecursionError:
        out.problems.append(
            Problem("yaml-too-deep", "the document nests too deeply", file=file, line=1, col=1)
        )
        return out
    if not nodes:
        out.data = None
        return out
    if len(nodes) > 1:
        mark = nodes[1].start_mark
        out.problems.append(
            Problem(
                "yaml-multi-document",
                "more than one YAML document in one file",
                file=file,
                line=mark.line + 1,
                col=mark.column + 1,
                hint="remove the '---' separator or split the file",
            )
        )
        return out
    builder = _Builder(file, env, out)
    try:
        out.data = builder.build(nodes[0], base, 0)
    except _TooMany:
        out.data = None
        out.problems.append(
            Problem(
                "yaml-too-many-nodes",
                f"the document expands to more than {MAX_NODES} nodes",
                file=file,
                line=1,
                col=1,
                hint="aliases (*name) multiply nodes; write the data out or split the file",
            )
        )
    return out


def _syntax_problem(exc: yaml.MarkedYAMLError, file: str, text: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    col = mark.column + 1 if mark else 1
    message = " ".join(str(p) for p in (exc.context, exc.problem) if p)
    lines = text.splitlines()
    source_line = lines[line - 1] if 0 < line <= len(lines) else ""
    leading = source_line[: len(source_line) - len(source_line.lstrip(" \t"))]
    if "\t" in leading or "'\\t'" in message:
        return Problem(
            "yaml-tab",
            "tab character used for indentation",
            file=file,
            line=line,
            col=col,
            hint="indent with spaces; configure your editor to insert spaces for tabs",
        )
    if "expected a single document" in message:
        return Problem(
            "yaml-multi-document",
            "more than one YAML document in one file",
            file=file,
            line=line,
            col=col,
            hint="remove the '---' separator or split the file",
        )
    return Problem(
        "yaml-syntax",
        message or "invalid YAML",
        file=file,
        line=line,
        col=col,
        hint="check indentation, colons and quotes near this position",
    )


class _Builder:
    def __init__(self, file: str, env: Mapping[str, str] | None, out: Parsed) -> None:
        self.file = file
        self.env = env
        self.out = out
        self.count = 0

    def pos(self, node: yaml.Node) -> Pos:
        return Pos(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def problem(
        self, code: str, message: str, node: yaml.Node, path: JsonPath, hint: str = ""
    ) -> None:
        p = self.pos(node)
        self.out.problems.append(Problem(code, message, p.file, p.line, p.col, path, hint))

    def build(self, node: yaml.Node, path: JsonPath, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooMany
        self.out.positions.setdefault(path, self.pos(node))
        if depth > MAX_DEPTH:
            self.problem("yaml-too-deep", f"nesting deeper than {MAX_DEPTH} levels", node, path)
            return None
        if node.tag != _IMPLICIT and node.tag not in _ALLOWED_EXPLICIT:
            self.problem(
                "yaml-tag",
                f"explicit tag {node.tag!r} is not allowed",
                node,
                path,
                "remove the tag; definitions hold plain data only",
            )
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path, depth)
        return None  # pragma: no cover - composer yields only the three kinds

    def mapping(self, node: yaml.MappingNode, path: JsonPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem("yaml-key-type", "mapping keys must be plain strings", key_node, path)
                continue
            key = str(key_node.value)
            if key == "<<" and not key_node.style:
                merged.update(self.merge_source(value_node, path, depth))
                continue
            child = (*path, key)
            if key in result:
                self.problem(
                    "yaml-duplicate-key",
                    f"key {key!r} appears twice",
                    key_node,
                    child,
                    f"the first {key!r} is at line {self.out.key_positions[child].line}",
                )
                continue
            self.out.key_positions[child] = self.pos(key_node)
            result[key] = self.build(value_node, child, depth + 1)
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def merge_source(self, node: yaml.Node, path: JsonPath, depth: int) -> dict[str, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for src in sources:
            value = self.build(src, path, depth + 1)
            if isinstance(value, dict):
                for k, v in value.items():
                    merged.setdefault(k, v)
            else:
                self.problem("yaml-syntax", "'<<' merges only mappings", src, path)
        return merged

    def scalar(self, node: yaml.ScalarNode, path: JsonPath) -> Any:
        text: str = node.value
        if node.tag == "tag:yaml.org,2002:str" or node.style:
            return self.substitute(text, node, path)
        if text in ("true", "false"):
            return text == "true"
        if text in _NULLS:
            return None
        if _INT.match(text):
            return int(text)
        if _FLOAT.match(text):
            return float(text)
        return self.substitute(text, node, path)

    def substitute(self, text: str, node: yaml.ScalarNode, path: JsonPath) -> str:
        if "${" not in text:
            return text
        if _ENV.fullmatch(text.strip()):
            self.out.env_paths.add(tuple(path))

        def repl(match: re.Match[str]) -> str:
            name = match.group(1)
            if not _ENV_NAME.match(name):
                self.problem(
                    "env-syntax",
                    f"malformed environment reference ${{{name}}}",
                    node,
                    path,
                    "write ${NAME} with letters, digits and underscores",
                )
                return match.group(0)
            self.out.env_refs.add(name)
            if self.env is None:
                return match.group(0)
            if name not in self.env:
                self.problem(
                    "env-missing",
                    f"environment variable {name} is not set",
                    node,
                    path,
                    f"set {name} for the CLI and every server process; secrets never live in definition files",
                )
                return ""
            return self.env[name]

        return _ENV.sub(repl, text)

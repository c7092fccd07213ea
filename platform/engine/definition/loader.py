"""Loader: bundle → RawPortal (merged data + source map), following `include:` globs.

Top-level keys of included files merge into the root: named sections (entities, pages, …)
merge by item name, lists concatenate, anything else may be defined once. Duplicates are
problems that name both locations.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from ..problems import JsonPath, Problem, Report, Severity
from .bundle import ROOT_NAMES, Bundle, read_bundle
from .yamlsource import Parsed, Pos, parse_text

#: Top-level sections whose items are named and merge across included files.
NAMED_SECTIONS = frozenset(
    {"roles", "entities", "pages", "workflows", "automations", "notifications", "emails"}
)
#: Top-level sections that are lists and concatenate across included files.
LIST_SECTIONS = frozenset({"navigation", "seed"})
DEFINITION_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(slots=True)
class SourceMap:
    """Where each node of the merged data came from."""

    positions: dict[JsonPath, Pos] = field(default_factory=dict)
    key_positions: dict[JsonPath, Pos] = field(default_factory=dict)
    root_file: str = "portal.yaml"
    #: paths of values written as exactly one `${NAME}` reference (secrets must be)
    env_paths: set[JsonPath] = field(default_factory=set)

    def locate(self, path: JsonPath, *, key: bool = False) -> Pos:
        """The position of the node at `path` (or of its key), else of its nearest ancestor."""
        probe = tuple(path)
        if key and probe in self.key_positions:
            return self.key_positions[probe]
        while True:
            if probe in self.positions:
                return self.positions[probe]
            if probe in self.key_positions:
                return self.key_positions[probe]
            if not probe:
                return Pos(self.root_file, 1, 1)
            probe = probe[:-1]

    def problem(
        self,
        code: str,
        message: str,
        path: JsonPath,
        hint: str = "",
        *,
        key: bool = False,
        severity: Severity = Severity.ERROR,
    ) -> Problem:
        """A problem located at `path`."""
        pos = self.locate(path, key=key)
        return Problem(code, message, pos.file, pos.line, pos.col, tuple(path), hint, severity)


@dataclass(slots=True)
class RawPortal:
    """The merged, not yet validated definition data with its source map and bundle."""

    data: dict[str, Any]
    source: SourceMap
    bundle: Bundle
    env_refs: frozenset[str] = frozenset()


def load_dir(
    directory: str | os.PathLike[str], env: Mapping[str, str] | None = None
) -> tuple[RawPortal, Report]:
    """Read a definition folder and load it (see `load`)."""
    bundle, problems = read_bundle(directory)
    raw, report = load(bundle, env)
    report.problems[:0] = problems
    return raw, report


def load(bundle: Bundle, env: Mapping[str, str] | None = None) -> tuple[RawPortal, Report]:
    """Parse the root file and its includes. `env` substitutes `${NAME}`; None leaves it."""
    report = Report()
    source = SourceMap()
    root = bundle.root
    if root is None:
        report.add(
            Problem(
                "file-missing",
                "the definition has no portal.yaml",
                file="portal.yaml",
                line=1,
                col=1,
                hint="the root file of a definition is portal.yaml (or portal.json)",
            )
        )
        return RawPortal({}, source, bundle), report
    source.root_file = root
    parsed = parse_text(bundle.files[root], root, env)
    report.extend(parsed.problems)
    env_refs = set(parsed.env_refs)
    data: dict[str, Any]
    if parsed.data is None and not parsed.problems:
        parsed.data = {}
    if not isinstance(parsed.data, dict):
        if parsed.data is not None:
            report.add(Problem("schema-type", "portal.yaml must be a mapping", root, 1, 1))
        return RawPortal({}, source, bundle), report
    data = parsed.data
    source.positions.update(parsed.positions)
    source.key_positions.update(parsed.key_positions)
    source.env_paths |= parsed.env_paths

    includes = data.get("include") or []
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list):
        return RawPortal(data, source, bundle, frozenset(env_refs)), report
    seen: set[str] = {root}
    for index, pattern in enumerate(includes):
        ipath: JsonPath = ("include", index)
        if not isinstance(pattern, str):
            continue  # the schema pass reports the type
        matches = _expand(pattern, bundle, source, ipath, report)
        for rel in matches:
            if rel in seen:
                continue
            seen.add(rel)
            sub = parse_text(bundle.files[rel], rel, env)
            report.extend(sub.problems)
            env_refs |= sub.env_refs
            source.env_paths |= sub.env_paths
            if sub.data is None:
                continue
            if not isinstance(sub.data, dict):
                report.add(Problem("schema-type", f"{rel} must be a mapping", rel, 1, 1))
                continue
            _merge(data, source, sub, rel, report)
    return RawPortal(data, source, bundle, frozenset(env_refs)), report


_GLOB_SPECIAL = re.compile(r"(\*\*/?|\*|\?|\[[^\]]*\])")


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Translate a glob (`*` within a folder, `**` across folders) into a regex."""
    parts: list[str] = []
    pos = 0
    for match in _GLOB_SPECIAL.finditer(pattern):
        parts.append(re.escape(pattern[pos : match.start()]))
        token = match.group(0)
        if token.startswith("**"):
            parts.append("(?:.*/)?" if token.endswith("/") else ".*")
        elif token == "*":
            parts.append("[^/]*")
        elif token == "?":
            parts.append("[^/]")
        else:
            parts.append(token)
        pos = match.end()
    parts.append(re.escape(pattern[pos:]))
    return re.compile("^" + "".join(parts) + "$")


def match_files(bundle: Bundle, pattern: str) -> list[str] | None:
    """Bundle files matching a relative glob, sorted; None when the pattern is unsafe."""
    norm = pattern.strip()
    if not norm or norm.startswith("/") or "\\" in norm or ".." in PurePosixPath(norm).parts:
        return None
    try:
        regex = glob_to_regex(norm.removeprefix("./"))
    except re.error:
        return None
    return sorted(f for f in bundle.files if regex.match(f))


def _expand(
    pattern: str, bundle: Bundle, source: SourceMap, path: JsonPath, report: Report
) -> list[str]:
    matches = match_files(bundle, pattern)
    if matches is None:
        report.add(
            source.problem(
                "include-bad",
                f"include pattern {pattern!r} must be a relative path inside the definition",
                path,
                "write patterns like entities/*.yaml",
            )
        )
        return []
    defs = [m for m in matches if m.endswith(DEFINITION_SUFFIXES) and m not in ROOT_NAMES]
    if not defs:
        report.add(
            source.problem(
                "include-empty",
                f"include pattern {pattern!r} matches no .yaml/.json file",
                path,
                "check the folder name and the file extension",
                severity=Severity.WARNING,
            )
        )
    return defs


def _merge(data: dict[str, Any], source: SourceMap, sub: Parsed, rel: str, report: Report) -> None:
    for key, value in sub.data.items():
        kpath: JsonPath = (key,)
        if key == "include":
            pos = sub.key_positions.get(kpath, Pos(rel, 1, 1))
            report.add(
                Problem(
                    "include-nested",
                    "only portal.yaml may include other files",
                    rel,
                    pos.line,
                    pos.col,
                    kpath,
                    "move this include into portal.yaml",
                )
            )
            continue
        if key not in data or data[key] is None:
            # an empty section (`entities:` with nothing under it) is filled by includes
            data[key] = value
            _copy_positions(source, sub, kpath, kpath)
            continue
        existing = data[key]
        if key in NAMED_SECTIONS and isinstance(existing, dict) and isinstance(value, dict):
            for name, item in value.items():
                ipath: JsonPath = (key, name)
                if name in existing:
                    _duplicate(source, sub, ipath, rel, report)
                    continue
                existing[name] = item
                _copy_positions(source, sub, ipath, ipath)
        elif key in LIST_SECTIONS and isinstance(existing, list) and isinstance(value, list):
            offset = len(existing)
            existing.extend(value)
            for i in range(len(value)):
                _copy_positions(source, sub, (key, i), (key, offset + i))
        else:
            _duplicate(source, sub, kpath, rel, report)


def _duplicate(source: SourceMap, sub: Parsed, path: JsonPath, rel: str, report: Report) -> None:
    here = sub.key_positions.get(path) or sub.positions.get(path) or Pos(rel, 1, 1)
    first = source.locate(path, key=True)
    report.add(
        Problem(
            "include-duplicate",
            f"{'.'.join(str(p) for p in path)} is defined twice",
            rel,
            here.line,
            here.col,
            path,
            f"first defined at {first.file}:{first.line}:{first.col}",
        )
    )


def _copy_positions(source: SourceMap, sub: Parsed, src: JsonPath, dst: JsonPath) -> None:
    n = len(src)
    for table, target in (
        (sub.positions, source.positions),
        (sub.key_positions, source.key_positions),
    ):
        for path, pos in table.items():
            if path[:n] == src:
                target[dst + path[n:]] = pos

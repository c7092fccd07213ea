"""`portalis diff`: two stored versions of a portal compared, as a unified diff of their
files and a summary of model changes (`model_changes`)."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass

import sqlalchemy as sa

from ..definition.bundle import Bundle
from .model_changes import model_changes
from .validator import Checker
from .versions import get_bundle


@dataclass(frozen=True, slots=True)
class VersionDiff:
    """A unified diff of the files and a summary of model changes."""

    files: str
    summary: tuple[str, ...]


def diff(engine: sa.Engine, checker: Checker, slug: str, a: int, b: int) -> VersionDiff:
    """Compare two stored versions of a portal."""
    left, right = get_bundle(engine, slug, a), get_bundle(engine, slug, b)
    chunks: list[str] = []
    for path in sorted(set(left.files) | set(right.files)):
        old = left.files.get(path, "").splitlines(keepends=True)
        new = right.files.get(path, "").splitlines(keepends=True)
        chunks.extend(difflib.unified_diff(old, new, f"v{a}/{path}", f"v{b}/{path}"))
    env = {name: "" for name in _env_names(checker, left) | _env_names(checker, right)}
    env.update(os.environ)
    models = [checker.check_bundle(bundle, env, seeds=False).model for bundle in (left, right)]
    summary: tuple[str, ...] = ()
    if models[0] is not None and models[1] is not None:
        summary = tuple(model_changes(models[0], models[1]))
    return VersionDiff("".join(chunks), summary)


def _env_names(checker: Checker, bundle: Bundle) -> set[str]:
    return set(checker.check_bundle(bundle, None, seeds=False).raw.env_refs)

"""Importing the rows of a CSV file as new records: a dry run, or the writes themselves.

Every row goes through `RecordStore.insert` with the importing actor — create grants, field
masks, defaults, rules, unique checks, sequences, rollups and automations apply as for a
form. A row runs in a savepoint of one transaction, so all of a range's refusals are found
in one pass: the dry run (`check_rows`) then rolls everything back; the import
(`write_rows`) commits only when no row was refused, so a range is all-or-nothing. A file
of more rows than one batch is written range by range by the caller (a background job),
each range its own transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .csv_values import RefResolver, cell_value
from .db import begin_write
from .errors import NON_FIELD, FieldMessage, OutOfScope, ParentStateRefused, ValidationFailed
from .permissions import Actor

if TYPE_CHECKING:
    from .store import RecordStore

#: Most problems kept for one file (the first ones; the count says how many there were).
MAX_PROBLEMS = 500


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why one row was refused: its `line` in the file (the header is line 1), the
    `field` (empty for the row as a whole) and the store's or the reader's message."""

    line: int
    field: str
    message: FieldMessage

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready form (kept with the import between requests)."""
        m = self.message
        return {"line": self.line, "field": self.field, "code": m.code, "message": m.message,
                "params": dict(m.params)}  # fmt: skip

    @classmethod
    def of_json(cls, data: Mapping[str, Any]) -> RowProblem:
        """The inverse of `as_json`."""
        message = FieldMessage(str(data["code"]), str(data["message"]), dict(data["params"]))
        return cls(int(data["line"]), str(data["field"]), message)


@dataclass(frozen=True, slots=True)
class ImportSpec:
    """What is imported: the entity, column → field mapping, ref keys, the reader's locale."""

    entity: str
    mapping: Mapping[int, str]
    keys: Mapping[str, str]
    locale: str


@dataclass(slots=True)
class RangeResult:
    """The outcome of one range of rows: how many were (or would be) created and refused,
    and the problems (at most `MAX_PROBLEMS`)."""

    created: int
    refused: int
    problems: list[RowProblem]


class _Rollback(Exception):
    """Ends a transaction whose writes must not stay (dry run, or a refused row)."""


def check_rows(
    store: RecordStore, actor: Actor, spec: ImportSpec, rows: Sequence[Sequence[str]], first: int
) -> RangeResult:
    """Dry run: write `rows` (file rows starting at index `first`) and roll back."""
    return _run(store, actor, spec, rows, first, keep=False)


def write_rows(
    store: RecordStore, actor: Actor, spec: ImportSpec, rows: Sequence[Sequence[str]], first: int
) -> RangeResult:
    """Create a record of each row in one transaction, kept only when no row is refused
    (`created` is 0 then)."""
    return _run(store, actor, spec, rows, first, keep=True)


def _run(
    store: RecordStore,
    actor: Actor,
    spec: ImportSpec,
    rows: Sequence[Sequence[str]],
    first: int,
    *,
    keep: bool,
) -> RangeResult:
    entity = store.entity(spec.entity)
    refs = RefResolver(store, actor, spec.keys)
    result = RangeResult(0, 0, [])
    try:
        with begin_write(store.engine) as conn:
            for offset, row in enumerate(rows):
                line = first + offset + 2  # the header is line 1
                values, problems = _values(entity, spec, refs, row, line)
                if not problems:
                    problems = _insert(store, actor, conn, spec.entity, values, line)
                if problems:
                    result.refused += 1
                    if len(result.problems) < MAX_PROBLEMS:
                        result.problems.extend(problems)
                else:
                    result.created += 1
            if not keep or result.problems:
                raise _Rollback
    except _Rollback:
        if keep:
            result.created = 0
    return result


def _values(
    entity: Any, spec: ImportSpec, refs: RefResolver, row: Sequence[str], line: int
) -> tuple[dict[str, Any], list[RowProblem]]:
    values: dict[str, Any] = {}
    problems: list[RowProblem] = []
    for index, name in spec.mapping.items():
        field = entity.fields[name]
        text = row[index] if index < len(row) else ""
        value = cell_value(field, text, spec.locale)
        if field.type == "ref" and isinstance(value, str):
            value = refs.resolve(field, value)
        if isinstance(value, FieldMessage):
            problems.append(RowProblem(line, name, value))
        elif value is not None:
            values[name] = value
    return values, problems


def _insert(
    store: RecordStore, actor: Actor, conn: Any, entity: str, values: Mapping[str, Any], line: int
) -> list[RowProblem]:
    try:
        with conn.begin_nested():
            store.insert(actor, entity, values, conn=conn)
    except ValidationFailed as exc:
        return [
            RowProblem(line, "" if name == NON_FIELD else name, m)
            for name, messages in exc.errors.items()
            for m in messages
        ]
    except ParentStateRefused as exc:
        return [RowProblem(line, "", FieldMessage("parent-state", str(exc)))]
    except OutOfScope as exc:
        named = [n for n in exc.fields if n in values]
        message = FieldMessage("scope", "you may not create a record with this value")
        return [RowProblem(line, named[0] if len(named) == 1 else "", message)]
    return []

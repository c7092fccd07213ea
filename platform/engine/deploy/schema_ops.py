"""The vocabulary of a migration plan: `SchemaOp` steps and the `Plan` that orders them.

Pure data: `schema_diff` produces plans, `migrations` applies them, the CLI and the builder show
them (`describe()`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

CREATE_TABLE = "create_table"
DROP_TABLE = "drop_table"
ADD_COLUMN = "add_column"
DROP_COLUMN = "drop_column"
RENAME_COLUMN = "rename_column"
ALTER_TYPE = "alter_type"
SET_NOT_NULL = "set_not_null"
DROP_NOT_NULL = "drop_not_null"
CREATE_INDEX = "create_index"
DROP_INDEX = "drop_index"
ADD_FOREIGN_KEY = "add_foreign_key"
DROP_FOREIGN_KEY = "drop_foreign_key"
DROP_UNIQUE = "drop_unique"
RENAME_INDEX = "rename_index"
RENAME_VALUE = "rename_value"

#: Execution order of op kinds; `Plan.ops` is sorted by it (stable within a kind).
PHASES: Final = MappingProxyType(
    {
        kind: number
        for number, kind in enumerate(
            (
                CREATE_TABLE,
                DROP_INDEX,
                RENAME_COLUMN,
                ADD_COLUMN,
                RENAME_VALUE,
                DROP_FOREIGN_KEY,
                DROP_UNIQUE,
                ALTER_TYPE,
                DROP_NOT_NULL,
                SET_NOT_NULL,
                DROP_COLUMN,
                ADD_FOREIGN_KEY,
                DROP_TABLE,
                CREATE_INDEX,
                RENAME_INDEX,
            )
        )
    }
)
_VERBS: Final = MappingProxyType(
    {
        **{kind: kind.replace("_", " ") for kind in PHASES},
        ALTER_TYPE: "change type of",
        SET_NOT_NULL: "set NOT NULL on",
        DROP_NOT_NULL: "drop NOT NULL on",
        DROP_UNIQUE: "drop unique constraint",
    }
)
#: Non-destructive steps that take something away (a drop that holds no data): neither
#: additive nor in need of consent, and counted apart from both.
REMOVALS: Final = frozenset(
    {
        DROP_INDEX,
        DROP_UNIQUE,
        DROP_FOREIGN_KEY,
    }
)


@dataclass(frozen=True, slots=True)
class ValueRename:
    """A choice option renamed with `renamed_from`: records of `table` whose `column` holds
    `old` get `new`. `what` is `state` for a workflow's state field (`option` otherwise) and
    `workflows` the workflows over the field (their queued timers name the state)."""

    portal: str
    entity: str
    field: str
    table: str
    column: str
    old: str
    new: str
    what: str = "option"
    workflows: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SchemaOp:
    """One step of a migration plan.

    `kind` is one of create_table, drop_table, add_column, drop_column, rename_column,
    alter_type, set_not_null, drop_not_null, create_index, drop_index, rename_index,
    add_foreign_key, drop_foreign_key (a key that changed target or went away), drop_unique
    (a unique constraint the target no longer has) and rename_value (records holding a renamed
    choice option — a workflow state — move to its new value; `detail` names what was renamed,
    e.g. `state ticket.status`). `destructive` steps need consent; the
    drops of indexes and constraints lose no data and are `Plan.removals`, not additive.

    `rows` is the number of rows the step puts at risk (set for destructive steps): rows of a
    dropped table, values of a dropped or narrowed column, NULLs that block NOT NULL, existing
    rows that need a value for a new NOT NULL column. `previous` is the old name of a renamed
    column or index; `name` the index or constraint a step creates, drops or renames.
    For rename_value, `previous` and `name` are the old and new value and `rows` the number of
    records that hold the old one.
    """

    kind: str
    table: str
    column: str | None = None
    detail: str = ""
    destructive: bool = False
    rows: int | None = None
    previous: str | None = None
    name: str | None = None

    def describe(self) -> str:
        """One human line, e.g. `! drop column p_acme__ticket.old (3 rows have a value)`.

        `+` adds, `-` removes something that holds no data, `~` changes in place, `!` needs
        consent.
        """
        if self.destructive:
            sign = "!"
        elif self.kind.startswith(("create_", "add_")):
            sign = "+"
        elif self.kind in REMOVALS:
            sign = "-"
        else:
            sign = "~"
        where = f"{self.table}.{self.column}" if self.column else self.table
        if self.kind == RENAME_VALUE:
            what, _, owner = self.detail.partition(" ")
            records = "1 record" if self.rows == 1 else f"{self.rows or 0} records"
            return f"{sign} rename {what} {self.previous} -> {self.name} of {owner} ({records})"
        if self.kind == RENAME_COLUMN:
            text = f"{sign} rename column {self.table}.{self.previous} -> {self.column}"
        elif self.kind == RENAME_INDEX:
            text = f"{sign} rename index {self.previous} -> {self.name} on {where}"
        elif self.name is not None:
            text = f"{sign} {_VERBS.get(self.kind, self.kind)} {self.name} on {where}"
        else:
            text = f"{sign} {_VERBS.get(self.kind, self.kind)} {where}"
        if self.detail and self.kind != RENAME_COLUMN:
            text += f" {self.detail}"
        if self.rows is not None:
            text += f" ({_rows_text(self.kind, self.rows)})"
        return text

    def key(self) -> tuple[object, ...]:
        """What the step does, without row counts (which drift while a plan waits for consent)."""
        return (
            self.kind,
            self.table,
            self.column,
            self.detail,
            self.destructive,
            self.previous,
            self.name,
        )


def _rows_text(kind: str, rows: int) -> str:
    one = rows == 1
    if kind == DROP_TABLE:
        return "1 row" if one else f"{rows} rows"
    if kind == SET_NOT_NULL:
        return f"{rows} {'row is' if one else 'rows are'} NULL"
    if kind == ADD_COLUMN:
        return f"{rows} existing {'row needs' if one else 'rows need'} a value"
    return f"{rows} {'row has' if one else 'rows have'} a value"


@dataclass(frozen=True, slots=True)
class Plan:
    """The steps that turn the live schema into the target, in execution order.

    `values` are the option renames the target declares (`ValueRename`), whether or not a
    record still holds an old value: applying plans again with them.
    """

    ops: tuple[SchemaOp, ...] = ()
    values: tuple[ValueRename, ...] = ()

    @property
    def destructive(self) -> tuple[SchemaOp, ...]:
        """Steps that need consent (`allow_destructive`)."""
        return tuple(op for op in self.ops if op.destructive)

    @property
    def additive(self) -> tuple[SchemaOp, ...]:
        """Steps that add or change without taking anything away (no consent needed)."""
        return tuple(op for op in self.ops if not op.destructive and op.kind not in REMOVALS)

    @property
    def removals(self) -> tuple[SchemaOp, ...]:
        """Steps that drop an index or constraint: no data is lost and no consent is needed,
        but they are not additive either (`- drop index …` in `describe`)."""
        return tuple(op for op in self.ops if not op.destructive and op.kind in REMOVALS)

    @property
    def empty(self) -> bool:
        """True when the live schema already matches the target."""
        return not self.ops

    def describe(self) -> list[str]:
        """One line per step (see `SchemaOp.describe`)."""
        return [op.describe() for op in self.ops]

    def fingerprint(self) -> str:
        """What a consent to this plan covers, as a short hash: every step, and the rows each
        destructive step puts at risk (the data consent was given for). Other counts — the
        records a renamed state moves — are left out: they drift with every write and change
        nothing anyone consents to."""
        parts = [(op.key(), op.rows if op.destructive else None) for op in self.ops]
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]

    def renames(self) -> dict[str, dict[str, str]]:
        """The column renames of this plan, as `plan()` takes them: table → {new: old}."""
        out: dict[str, dict[str, str]] = {}
        for op in self.ops:
            if op.kind == RENAME_COLUMN and op.column is not None and op.previous is not None:
                out.setdefault(op.table, {})[op.column] = op.previous
        return out

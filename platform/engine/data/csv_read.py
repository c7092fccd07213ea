"""Reading an uploaded CSV file: its encoding, its delimiter, its header and rows, and which
column fills which field.

Files are UTF-8, with or without the byte-order mark spreadsheet programs write ("CSV UTF-8");
the delimiter is whichever of comma, semicolon or tab splits the header line into the most
columns (a German spreadsheet saves with semicolons). A header matches a field by its name
or its label in any of the portal's languages, ignoring case, spaces, `_` and `-`.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..definition.model import Field

#: Delimiters tried on the header line, in order of preference on a tie.
DELIMITERS = (",", ";", "\t")
#: Longest cell kept (longer text is cut and refused by the field's own length check).
MAX_CELL = 100_000


class CsvUnreadable(ValueError):
    """The file is not a CSV file Portalis can read; `code` names why (`encoding`,
    `empty`, `header`, `rows`)."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class CsvTable:
    """A parsed file: its header cells and data rows (each as long as the header)."""

    delimiter: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def decode(data: bytes) -> str:
    """The file's text: UTF-8 with an optional BOM, else CsvUnreadable(`encoding`)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvUnreadable("encoding", "the file is not UTF-8 text") from exc
    if "\x00" in text:
        raise CsvUnreadable("encoding", "the file is not UTF-8 text")
    return text


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first line into the most columns (comma on a tie)."""
    first = text.split("\n", 1)[0]
    counts = [
        (len(next(csv.reader([first], delimiter=d), [])), -i, d) for i, d in enumerate(DELIMITERS)
    ]
    return max(counts)[2]


def parse(text: str, *, max_rows: int) -> CsvTable:
    """Header and rows of `text`; blank lines are skipped, short rows padded, extra cells
    kept only when non-empty (then the row is refused as `rows`)."""
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise CsvUnreadable("empty", "the file has no header line")
        names = tuple(h.strip() for h in header)
        rows: list[tuple[str, ...]] = []
        for line in reader:
            if not any(cell.strip() for cell in line):
                continue
            if len(rows) >= max_rows:
                raise CsvUnreadable("rows", "the file has more than {max} rows", max=max_rows)
            cells = [c[:MAX_CELL] for c in line[: len(names)]]
            if any(c.strip() for c in line[len(names) :]):
                raise CsvUnreadable(
                    "header",
                    "line {line} has more cells than the header",
                    line=reader.line_num,
                )
            cells.extend("" for _ in range(len(names) - len(cells)))
            rows.append(tuple(cells))
    except csv.Error as exc:
        raise CsvUnreadable("header", "the file is not valid CSV") from exc
    if not rows:
        raise CsvUnreadable("empty", "the file has no rows below its header")
    return CsvTable(delimiter, names, tuple(rows))


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\s_\-.]+", "", text)


def guess_mapping(header: Sequence[str], fields: Iterable[Field]) -> dict[int, str]:
    """Column index → field name for the headers that name a field (each field once)."""
    names: dict[str, str] = {}
    for f in fields:
        names.setdefault(_norm(f.name), f.name)
        for text in f.label.texts.values():
            if text:
                names.setdefault(_norm(text), f.name)
    out: dict[int, str] = {}
    taken: set[str] = set()
    for i, cell in enumerate(header):
        name = names.get(_norm(cell))
        if name is not None and name not in taken:
            out[i] = name
            taken.add(name)
    return out


def mapped_rows(table: CsvTable, mapping: Mapping[int, str]) -> list[dict[str, str]]:
    """Every row as field name → cell text (only the mapped columns)."""
    return [{name: row[i] for i, name in mapping.items() if i < len(row)} for row in table.rows]

"""`import:` of a list block: people upload a CSV file of new records for the list's entity.

```yaml
- list:
    entity: product
    columns: [sku, name, price]
    import:
      fields: [sku, name, price, category]
      keys: {category: code}
      batch: 500
```

The file's columns are matched to `fields` by header (field name or label, in any of the
portal's languages) and may be re-mapped in a form; a dry run names every refused row with its
column and the form's field error; the import writes every row through the record store with
the actor's rights. Files of up to `batch` rows are imported in one transaction; larger ones
run in the background, one transaction per batch of `batch` rows, each batch reported.
A ref column names the target by its `keys:` field (default: its title field, else its id).
"""

from __future__ import annotations

from typing import Any

from ..problems import JsonPath
from .block_configs import ListImport
from .model import SYSTEM_COLUMNS
from .sections import SectionContext
from .values import Label

#: Most rows a file may hold (`max_rows:` may lower it).
MAX_IMPORT_ROWS = 50_000
#: Rows per transaction unless `batch:` says otherwise.
DEFAULT_BATCH = 500
#: Largest file accepted, in megabytes (`max_size_mb:` may lower it).
MAX_IMPORT_MB = 20

#: `import:` of `- list: …`
IMPORT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "fields": {
            "type": "array",
            "items": {"$ref": "#/$defs/name"},
            "minItems": 1,
            "uniqueItems": True,
            "description": "Fields a file may fill (default: the list's columns that people "
            "type in). Only those the importing actor may create are offered.",
        },
        "keys": {
            "type": "object",
            "propertyNames": {"$ref": "#/$defs/name"},
            "additionalProperties": {"$ref": "#/$defs/name"},
            "description": "Per ref field, the target's field a file names records by "
            "(`category: code`); default: the target's title field.",
        },
        "batch": {
            "type": "integer",
            "minimum": 10,
            "maximum": 5000,
            "description": f"Rows per transaction (default {DEFAULT_BATCH}): a file of up to "
            "this many rows is imported at once, in one transaction; a larger one runs in the "
            "background, one transaction per batch, with a progress page.",
        },
        "max_rows": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_IMPORT_ROWS,
            "description": f"Most rows a file may hold (default and limit {MAX_IMPORT_ROWS}).",
        },
        "max_size_mb": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_IMPORT_MB,
            "description": f"Largest file accepted, in MB (default and limit {MAX_IMPORT_MB}).",
        },
        "title": {"$ref": "#/$defs/label", "description": "Heading of the import pages."},
    },
    "additionalProperties": False,
    "description": "CSV import of new records (upload, column mapping, dry run, import); "
    "offered to readers of the list who may create the entity.",
}


def default_fields(ctx: SectionContext, entity: str, columns: list[Any]) -> list[str]:
    """The list's columns people type in (the default of `fields:`)."""
    fields = ctx.fields_of(entity)
    return [str(c) for c in columns if c in fields and _typed_in(fields[c])]


def check_import(ctx: SectionContext, entity: str, options: dict[str, Any], path: JsonPath) -> None:
    """The fields exist and are typed in; `keys:` names ref fields among them and fields of
    their targets (a ref without `keys:` names its target by title, else by id)."""
    spec = options.get("import")
    if not isinstance(spec, dict):
        return
    fields = ctx.fields_of(entity)
    listed = spec.get("fields")
    names = listed if listed is not None else default_fields(ctx, entity, options["columns"])
    if not names:
        ctx.problem(
            "block-option",
            "import needs fields a file can fill; the list shows none people type in",
            (*path, "import"),
            "add fields: [...] to import:",
        )
    for i, name in enumerate(listed or []):
        fpath: JsonPath = (*path, "import", "fields", i)
        if name in SYSTEM_COLUMNS:
            ctx.problem("block-option", f"{name!r} is set by the system", fpath)
        elif ctx.check_field(entity, name, fpath) and not _typed_in(fields[name]):
            ctx.problem(
                "block-option",
                f"{entity}.{name} is not typed in (computed, readonly or a file)",
                fpath,
                "import only fields people type in",
            )
    keys = spec.get("keys") or {}
    for name, key in keys.items():
        kpath: JsonPath = (*path, "import", "keys", name)
        field = fields.get(name) or {}
        if name not in names or field.get("type") != "ref":
            refs = [n for n in names if (fields.get(n) or {}).get("type") == "ref"]
            ctx.problem(
                "block-option",
                f"keys: {name!r} is not a ref field among the imported fields",
                kpath,
                ctx.suggest(name, refs) if refs else "name a ref field of fields:",
                key=True,
            )
            continue
        ctx.check_field(str(field.get("to")), key, kpath)


def _typed_in(spec: Any) -> bool:
    if not isinstance(spec, dict):
        return False
    derived = any(k in spec for k in ("compute", "rollup")) or bool(spec.get("readonly"))
    return not derived and spec.get("type") not in ("file", "sequence")


def compile_import(options: dict[str, Any], default: tuple[str, ...]) -> ListImport | None:
    """The runtime's `ListImport` (None without `import:`); `default` (the list's columns)
    when `fields:` is not given — the runtime offers only those the actor may write."""
    spec = options.get("import")
    if not isinstance(spec, dict):
        return None
    return ListImport(
        fields=tuple(spec.get("fields") or default),
        keys=tuple((spec.get("keys") or {}).items()),
        batch=int(spec.get("batch", DEFAULT_BATCH)),
        max_rows=int(spec.get("max_rows", MAX_IMPORT_ROWS)),
        max_bytes=int(spec.get("max_size_mb", MAX_IMPORT_MB)) * 1024 * 1024,
        title=Label.of(spec["title"]) if "title" in spec else None,
    )

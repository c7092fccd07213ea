"""CompiledPortal: everything a request needs, built once per published version."""

from __future__ import annotations

from dataclasses import dataclass, replace

import sqlalchemy as sa

from .data.permissions import Policy
from .data.store import RecordStore
from .data.tables import TableSet, build_tables
from .data.write_checks import FileGuard
from .definition.bundle import Bundle
from .definition.model import PortalModel
from .effects import LISTENERS


@dataclass(frozen=True, slots=True)
class CompiledPortal:
    """An immutable compiled version: model, tables, policy and the bundle it came from."""

    model: PortalModel
    tables: TableSet
    policy: Policy
    bundle: Bundle
    version: int | None = None

    @property
    def slug(self) -> str:
        """The portal's slug."""
        return self.model.slug

    def store(
        self, engine: sa.Engine, file_guard: FileGuard | None = None, base_url: str = ""
    ) -> RecordStore:
        """A record store over `engine` (cheap: holds references only); `base_url` makes
        links in notifications absolute."""
        return RecordStore(
            self.model,
            self.tables,
            self.policy,
            engine,
            file_guard,
            listeners=LISTENERS,
            base_url=base_url,
        )


def compile_portal(
    model: PortalModel, bundle: Bundle, version: int | None = None
) -> CompiledPortal:
    """Build tables and policy for a checked model (pure: touches no database)."""
    tables = build_tables(model)
    return CompiledPortal(model, tables, Policy(model, tables), bundle, version)


def renames(portal: CompiledPortal) -> dict[str, dict[str, str]]:
    """`renamed_from:` of every field, as table → {new column: old column}."""
    out: dict[str, dict[str, str]] = {}
    for entity in portal.model.entities.values():
        for field in entity.fields.values():
            if field.renamed_from:
                old_names = field.kind.column_names(replace(field, name=field.renamed_from))
                for new, old in zip(field.columns, old_names, strict=True):
                    out.setdefault(entity.table_name, {})[new] = old
    return out

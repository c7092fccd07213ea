"""Semantic checks of `attachments:` on entities and of the attachments blocks that show them.

The schema fixes the shapes; here: folder names are unique, every allowed type is one whose
content the runtime can check against its extension (anything else could carry any bytes
under a harmless name), and an attachments block names an entity that keeps attachments.
"""

from __future__ import annotations

from typing import Any

from ...problems import JsonPath
from ..attachment_spec import CHECKED_TYPES, folder_entries
from .base import Ctx, suggest


def check_attachments(ctx: Ctx) -> None:
    """Every entity's `attachments:`, then every attachments block."""
    for name, spec in ctx.entities.items():
        if isinstance(spec, dict) and isinstance(spec.get("attachments"), dict):
            _check_spec(ctx, name, spec["attachments"])
    for page, pspec in (ctx.data.get("pages") or {}).items():
        if not isinstance(pspec, dict):
            continue
        for i, block in enumerate(pspec.get("blocks") or []):
            options = block.get("attachments") if isinstance(block, dict) else None
            if not isinstance(options, dict):
                continue
            entity = options.get("entity")
            raw = ctx.entities.get(entity) if isinstance(entity, str) else None
            if isinstance(raw, dict) and "attachments" not in raw:
                ctx.add(
                    "attachments-undeclared",
                    f"{entity} declares no attachments:, so it keeps no documents to show",
                    ("pages", page, "blocks", i, "attachments", "entity"),
                    f"add attachments: {{folders: [...], types: [...]}} to entity {entity}",
                )


def _check_spec(ctx: Ctx, entity: str, spec: dict[str, Any]) -> None:
    path: JsonPath = ("entities", entity, "attachments")
    seen: set[str] = set()
    for i, (folder, _) in enumerate(folder_entries(spec.get("folders"))):
        if folder in seen:
            ctx.add(
                "attachments-folder-duplicate",
                f"folder {folder!r} is listed twice",
                (*path, "folders", i),
                "give each folder its own name",
            )
        seen.add(folder)
    for i, kind in enumerate(spec.get("types") or ()):
        if isinstance(kind, str) and kind not in CHECKED_TYPES:
            ctx.add(
                "attachments-type",
                f"files of type {kind!r} cannot be checked against their content",
                (*path, "types", i),
                suggest(kind, CHECKED_TYPES) or "use types such as pdf, png, jpg, txt, docx",
            )

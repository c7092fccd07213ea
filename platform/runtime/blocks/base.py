"""The block protocol: a block type renders one block of a page and may handle its POST.

Block types register through the `portalis_block_types` hook; the built-ins (list, detail,
form, markdown, metrics) are the runtime's default plugin. A block never touches tables: it
reads and writes through `ctx.store` with `ctx.actor`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from flask import Response, g
from markupsafe import Markup

from portalis.engine.model import Block, Page
from portalis.engine.permissions import Actor
from portalis.engine.records import Record
from portalis.engine.store import RecordStore

if TYPE_CHECKING:
    from ..registry import RuntimePortal


@dataclass(slots=True)
class BlockContext:
    """Everything a block sees while rendering or handling a request."""

    portal: RuntimePortal
    page: Page
    block: Block
    actor: Actor
    locale: str
    record: Record | None = None
    args: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, Any] | None = None
    files: Mapping[str, Any] | None = None
    errors: Mapping[str, list[Any]] | None = None

    @property
    def store(self) -> RecordStore:
        """The record store (always used with `actor`)."""
        return self.portal.store

    @property
    def prefix(self) -> str:
        """URL prefix of the portal (`/acme-support`, or empty under a domain)."""
        return str(g.portal_prefix)


class BlockType:
    """Base class of block types."""

    #: The block's key in definitions (`- list: {...}`).
    name: ClassVar[str] = ""
    #: JSON Schema of the options for plugin blocks (built-ins are in the base schema).
    options_schema: ClassVar[Mapping[str, Any] | None] = None

    def render(self, ctx: BlockContext) -> Markup:
        """HTML of the block for a GET (or a POST that failed validation)."""
        raise NotImplementedError

    def handle_post(self, ctx: BlockContext) -> Response | None:
        """Handle a form POST addressed to this block; None re-renders the page."""
        return None


class BlockRegistry:
    """Block types by name (built per application from the plugin manager)."""

    def __init__(self, types: list[Any]) -> None:
        self._types: dict[str, Any] = {}
        for block_type in types:
            self._types[block_type.name] = block_type

    def get(self, name: str) -> Any:
        """The block type called `name`, or None."""
        return self._types.get(name)

    def names(self) -> list[str]:
        """Registered block type names."""
        return sorted(self._types)

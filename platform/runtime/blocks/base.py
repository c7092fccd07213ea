"""The block protocol: a block type renders one block of a page and may handle its POST.

Block types register through the `portalis_block_types` hook (`portalis.runtime.hookspecs`);
the built-ins (list, detail, form, markdown, metrics) are the runtime's default plugin. A
block reads and writes records through `ctx.store` with `ctx.actor`, which applies the
permissions, and asks the engine what the actor may do with a record before offering an
action (`engine.flow.rights.record_rights`: the actions, fields and transitions allowed on that
row). No block touches a table or builds permission SQL (`tests/test_one_data_path.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from flask import Response, g
from markupsafe import Markup

from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Record
from portalis.engine.data.store import RecordStore
from portalis.engine.definition.model import Block, Page

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


class BlockType(Protocol):
    """A block type from the `portalis_block_types` hook: how a block is drawn.

    Subclass it (then `handle_post` defaults to "re-render the page") or implement the
    members yourself. What the block's options mean is its definition section's job (the
    engine hook `portalis_definition_sections`, place `"block"`, same name): its schema and
    checks validate them and its compile step makes `ctx.block.config`, once per version.
    """

    @property
    def name(self) -> str:
        """The block's key in definitions (`- list: {...}`)."""
        ...

    def render(self, ctx: BlockContext) -> Markup:
        """HTML of the block for a GET (or a POST that failed validation)."""
        raise NotImplementedError

    def handle_post(self, ctx: BlockContext) -> Response | None:
        """Handle a form POST addressed to this block; None re-renders the page."""
        return None


class BlockRegistry:
    """Block types by name (built per application from the plugin manager)."""

    def __init__(self, types: Iterable[BlockType]) -> None:
        self._types: dict[str, BlockType] = {}
        for block_type in types:
            self._types[block_type.name] = block_type

    def get(self, name: str) -> BlockType | None:
        """The block type called `name`, or None."""
        return self._types.get(name)

    def names(self) -> list[str]:
        """Registered block type names."""
        return sorted(self._types)

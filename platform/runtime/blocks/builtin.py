"""The built-in block types as the runtime's default plugin."""

from __future__ import annotations

from portalis.engine.plugins import hookimpl

from .base import BlockType
from .detail import DetailBlockType
from .form import FormBlockType
from .listing import ListBlockType
from .markdown import MarkdownBlockType
from .metrics import MetricsBlockType


@hookimpl
def portalis_block_types() -> list[BlockType]:
    """list, detail, form, markdown and metrics."""
    return [
        ListBlockType(),
        DetailBlockType(),
        FormBlockType(),
        MarkdownBlockType(),
        MetricsBlockType(),
    ]

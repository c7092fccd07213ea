"""The built-in block types as the runtime's default plugin."""

from __future__ import annotations

from portalis.engine.plugins import hookimpl

from .attachments import AttachmentsBlockType
from .base import BlockType
from .calendar import CalendarBlockType
from .detail import DetailBlockType
from .feedback import FeedbackBlockType
from .form import FormBlockType
from .listing import ListBlockType
from .markdown import MarkdownBlockType
from .metrics import MetricsBlockType
from .payments import PaymentsBlockType
from .related import RelatedBlockType
from .search import SearchBlockType
from .search_box import SearchBoxBlockType


@hookimpl
def portalis_block_types() -> list[BlockType]:
    """list, detail, form, markdown, metrics, attachments, search, search_box, calendar,
    feedback, related and payments."""
    return [
        ListBlockType(),
        DetailBlockType(),
        FormBlockType(),
        MarkdownBlockType(),
        MetricsBlockType(),
        AttachmentsBlockType(),
        SearchBlockType(),
        SearchBoxBlockType(),
        CalendarBlockType(),
        FeedbackBlockType(),
        RelatedBlockType(),
        PaymentsBlockType(),
    ]

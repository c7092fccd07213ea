"""The core's built-in definition sections, registered through the same hook as a plugin's:
the built-in blocks and the password provider."""

from __future__ import annotations

from ..markers import hookimpl
from .attachment_section import ATTACHMENTS_SECTION
from .block_sections import BLOCK_SECTIONS
from .calendar_section import CALENDAR_SECTION
from .feedback_section import FEEDBACK_SECTION
from .password_section import PASSWORD_SECTION
from .payments_section import PAYMENTS_SECTION
from .related_section import RELATED_SECTION
from .search_section import SEARCH_SECTION
from .sections import DefinitionSection


@hookimpl
def portalis_definition_sections() -> list[DefinitionSection]:
    """The built-in blocks and the password provider."""
    return [
        *BLOCK_SECTIONS,
        ATTACHMENTS_SECTION,
        SEARCH_SECTION,
        CALENDAR_SECTION,
        FEEDBACK_SECTION,
        RELATED_SECTION,
        PAYMENTS_SECTION,
        PASSWORD_SECTION,
    ]

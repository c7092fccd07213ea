"""The core's built-in definition sections, registered through the same hook as a plugin's:
the five built-in blocks and the password provider."""

from __future__ import annotations

from ..markers import hookimpl
from .block_sections import BLOCK_SECTIONS
from .password_section import PASSWORD_SECTION
from .sections import DefinitionSection


@hookimpl
def portalis_definition_sections() -> list[DefinitionSection]:
    """The built-in blocks and the password provider."""
    return [*BLOCK_SECTIONS, PASSWORD_SECTION]

"""portalis-sample: a plugin that adds one of each kind of thing a definition can name.

- the field type `rating` (`type: rating, max: 5, labels: [...]`) with its HTML input;
- the block type `rating_summary` (`- rating_summary: {entity, field, title}`) with its
  definition section;
- the sign-in provider type `sample_directory` (`auth.providers[] {type: sample_directory,
  pepper: "${…}", users: [...]}`) with its definition section.

Registered through the `portalis.plugins` entry point `sample`. It imports from Portalis only
the facades `portalis.api` and `portalis.web`, like any third-party plugin; the core names
none of it.
"""

from __future__ import annotations

from collections.abc import Mapping

from portalis.api import DefinitionSection, FieldType, hookimpl
from portalis.web import BlockType, FormFieldFactory, ProviderType

from .blocks import RatingSummaryBlock
from .directory import SampleDirectoryProvider, SampleDirectoryType
from .directory_section import DIRECTORY_SECTION, Directory
from .inputs import rating_input
from .rating import RatingConfig, RatingType
from .summary import SUMMARY_SECTION, RatingSummary

__all__ = [
    "DIRECTORY_SECTION",
    "SUMMARY_SECTION",
    "Directory",
    "RatingConfig",
    "RatingSummary",
    "RatingSummaryBlock",
    "RatingType",
    "SampleDirectoryProvider",
    "SampleDirectoryType",
]


@hookimpl
def portalis_field_types() -> list[FieldType]:
    """`rating`."""
    return [RatingType()]


@hookimpl
def portalis_definition_sections() -> list[DefinitionSection]:
    """The options of `rating_summary` blocks and of `sample_directory` provider entries."""
    return [SUMMARY_SECTION, DIRECTORY_SECTION]


@hookimpl
def portalis_form_fields() -> Mapping[str, FormFieldFactory]:
    """The rating's `<select>`."""
    return {RatingType.name: rating_input}


@hookimpl
def portalis_block_types() -> list[BlockType]:
    """`rating_summary`."""
    return [RatingSummaryBlock()]


@hookimpl
def portalis_auth_provider_types() -> list[ProviderType]:
    """`sample_directory`."""
    return [SampleDirectoryType()]

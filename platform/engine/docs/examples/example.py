"""The shape of a reference example: a captioned YAML fragment of a definition."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Example:
    """A captioned YAML fragment of a definition."""

    caption: str
    yaml: str

"""The shape of a reference example: a captioned YAML fragment of a definition."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Example:
    """A captioned YAML fragment of a definition."""

    caption: str
    yaml: str
    #: the docs test's annotation when the example cannot be validated on the starter
    #: blueprint as it is (`skip, <reason>`); empty: validated there (`with reference`)
    note: str = ""

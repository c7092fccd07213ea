"""Rules of the built-in user entity's rows that no field type expresses.

The store, the account tools and the profile form apply the same rule, so a locale is checked
identically whichever door a user row comes through.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import FieldMessage


def user_locale_error(locales: Sequence[str], value: object) -> FieldMessage | None:
    """The rule for the built-in `user.locale`: empty (the browser's language) or one of the
    portal's locales — the same for the profile form, the API, forms and the CLI."""
    if value is None or value == "" or value in locales:
        return None
    return FieldMessage("choice", "must be one of: {choices}", {"choices": ", ".join(locales)})

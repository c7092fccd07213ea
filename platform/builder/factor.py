"""The builder's second factor: the first loaded factor that can be enrolled from any screen.

Builder accounts must use a second factor; the builder takes the application's factors
(`portalis_second_factors`) and uses the first that also offers `EnrollableFactor`, keyed
by (`BUILDER_KEY`, account id). Without one, nobody can sign in to the builder (fail
closed) and the login page says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from portalis.runtime.auth.enrolment import EnrollableFactor
from portalis.runtime.context import state

if TYPE_CHECKING:
    import sqlalchemy as sa


class BuilderFactor(EnrollableFactor, Protocol):
    """A second factor the builder can both enrol and verify."""

    name: str

    def enrolled(self, conn: sa.Connection, portal: str, user_id: int) -> bool:
        """True when the user has this factor set up."""
        ...

    def verify(self, conn: sa.Connection, portal: str, user_id: int, code: str) -> bool:
        """Check (and consume) a code; False for a wrong or replayed one."""
        ...


def builder_factor() -> BuilderFactor | None:
    """The factor builder accounts use, or None when no loaded factor can be enrolled here."""
    for factor in state().second_factors:
        if isinstance(factor, EnrollableFactor):
            return factor
    return None

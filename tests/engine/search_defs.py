"""The help centre of the full-text search tests (tests/engine/portals/helpdesk): articles
with a heavy title, a body and an internal note hidden from customers, on English stems —
or, for a test, another locale or another `search:`."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from portalis.engine.deploy.validator import Checker
from portalis.engine.portal import CompiledPortal
from portalis.testing import portals

FOLDER = Path(__file__).parent / "portals" / "helpdesk"
INDEXED = "{fields: {title: 4, body: 1, note: 1}}"
HOME_SEARCH = "- search: {entities: [article], label: {en: Search the help centre}}"
SEED = (FOLDER / "seed.yaml").read_text(encoding="utf-8")


def helpdesk(locale: str = "en", search: str = INDEXED) -> str:
    """The definition in `locale`; `search` is the article's `search:` value (empty: none,
    and the home page shows text instead of its search box, which needs the index)."""
    text = (FOLDER / "portal.yaml").read_text(encoding="utf-8")
    text = text.replace("locales: [en]", f"locales: [{locale}]")
    text = text.replace(f"    search: {INDEXED}\n", f"    search: {search}\n" if search else "")
    if not search.startswith("{"):
        text = text.replace(HOME_SEARCH, "- markdown: {en: Hi}")
    return text


def deploy(
    engine: sa.Engine, checker: Checker, folder: Path, locale: str = "en", search: str = INDEXED
) -> CompiledPortal:
    """Deploy the help centre into `folder` (again, for a new version)."""
    return portals.deploy_text(engine, checker, folder, helpdesk(locale, search), SEED)

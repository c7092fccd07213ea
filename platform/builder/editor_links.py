"""Where a definition path or a file:line is edited in the builder: the URL of its editor.

A pure function of the fixed URL scheme under `/_builder/p/<slug>/d/<draft>/` (entities,
forms, pages, navigation, theme, roles, permissions, workflows, translations, files), so a
problem links to the right editor whether or not that editor is installed yet; what is not
edited by a dedicated editor opens in the files editor at its line (`files/<file>#L<line>`).
A missing translation (`translation-missing`) opens the translations grid at the label's row,
among the labels of its area that miss a text (`translations?area=…&missing=1#label-<path>`).
`EDITORS` lists every editor's start page for the draft overview, which shows the ones whose
route the application has (`available_editors`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import quote

from portalis.runtime.display import N_

from .editors.labels import AREAS

JsonPath = Sequence[str | int]

#: Every editor's start page: (relative path under the draft, label translated when shown).
EDITORS: tuple[tuple[str, str], ...] = (
    ("entities/", N_("Entities and fields")),
    ("pages/", N_("Pages and blocks")),
    ("navigation", N_("Navigation")),
    ("theme", N_("Theme")),
    ("roles", N_("Roles")),
    ("permissions", N_("Permissions")),
    ("workflows/", N_("Workflows")),
    ("translations", N_("Translations")),
    ("files/", N_("Files")),
)


def draft_base(slug: str, draft: int) -> str:
    """The draft overview's URL: `/_builder/p/<slug>/d/<draft>/`."""
    return f"/_builder/p/{quote(slug)}/d/{draft}/"


def translation_path(path: JsonPath) -> str:
    """The translations grid at the row of the label at `path`, relative to the draft."""
    key = ".".join(str(step) for step in path)
    head = str(path[0]) if path else ""
    area = head if head in AREAS else "portal"
    return f"translations?area={area}&missing=1#label-{quote(key)}"


def editor_path(path: JsonPath, file: str = "", line: int = 0, code: str = "") -> str:
    """The editor of definition path `path` (else of `file` at `line`), relative to the draft;
    the problem `code` may pick another (a missing translation: the translations grid)."""
    if code == "translation-missing" and path:
        return translation_path(path)
    parts = list(path)
    head = parts[0] if parts else None
    name = str(parts[1]) if len(parts) > 1 else None
    if head == "entities" and name is not None:
        if len(parts) > 2 and parts[2] == "permissions":
            return "permissions"
        if len(parts) > 3 and parts[2] == "fields":
            return f"entities/{quote(name)}#field-{quote(str(parts[3]))}"
        return f"entities/{quote(name)}"
    if head == "pages" and name is not None:
        if len(parts) > 4 and parts[2] == "blocks" and parts[4] == "form":
            return f"forms/{quote(name)}/{int(parts[3])}"
        return f"pages/{quote(name)}"
    if head == "workflows" and name is not None:
        return f"workflows/{quote(name)}"
    if head in ("navigation", "theme", "roles", "translations"):
        return str(head)
    return files_path(file, line)


def files_path(file: str, line: int = 0) -> str:
    """The files editor at `file` (and `line`), relative to the draft."""
    if not file:
        return "files/"
    anchor = f"#L{line}" if line > 0 else ""
    return f"files/{quote(file)}{anchor}"


def editor_url(
    slug: str, draft: int, path: JsonPath, file: str = "", line: int = 0, code: str = ""
) -> str:
    """The absolute URL of the editor for a definition path / file:line of a draft (and a
    problem's `code`)."""
    return draft_base(slug, draft) + editor_path(path, file, line, code)


def available_editors(
    slug: str, draft: int, routed: Callable[[str], bool]
) -> list[tuple[str, str]]:
    """(URL, label) of each editor whose start page `routed(url)` says the app serves."""
    base = draft_base(slug, draft)
    return [(base + rel, label) for rel, label in EDITORS if routed(base + rel)]

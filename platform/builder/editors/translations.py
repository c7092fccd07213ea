"""The translations editor: `…/d/<draft>/translations`, every label × every locale.

The grid shows each label of the draft (found by `labels.find_labels` from the schema) with
one input per locale of `locales:`; a locale without its own text is marked "missing" in
words, not only by colour. Filters (query string): `area` (one group of the definition, or
`all`), `locale` (one column) and `missing=1` (only labels missing a text). The form posts
the shown cells; only the cells whose value differs from what the page showed turn into
operations, saved through `editing.run_edit`:

- a text in a per-locale map is set (a new locale key is appended, an emptied one removed,
  unless it is the map's last);
- a plain string (one text for every locale) stays a string when only the default locale's
  text changes, and becomes a map `{default: …, other: …}` when another locale is filled.

Operations read the label again when they run, so re-applying after a conflict changes the
same cells of the newest revision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, render_template, request
from werkzeug.wrappers import Response

from portalis.engine.definition.loader import load
from portalis.engine.definition.yamledit import BundleEdit, EditError
from portalis.runtime.context import state
from portalis.runtime.templating import gettext as _

from ..editing import (
    DraftContext,
    Operation,
    base_definition,
    definition,
    editor_url,
    open_draft,
    problems_under,
    run_edit,
    saved_message,
)
from ..rights import EDIT
from .labels import AREAS, JsonPath, Label, find_labels, label_keys

#: Separates a label's key and the locale in a cell's input name (`cell:<key>|<locale>`).
_SEP = "|"
_LONG_KEYS = frozenset({"markdown", "body", "description"})


def register(bp: Blueprint) -> None:
    """Add the translations editor's route to the builder blueprint."""
    bp.add_url_rule(
        "/p/<slug>/d/<int:draft>/translations",
        "translations",
        translations_view,
        methods=["GET", "POST"],
    )


def locales_of(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The draft's locales, the default first."""
    return tuple(str(loc) for loc in data.get("locales") or ["en"])


def labels_of(data: Mapping[str, Any]) -> list[Label]:
    """Every label of the merged definition `data`."""
    return find_labels(data, label_keys(state().checker.schema))


def cell_op(path: JsonPath, cells: Mapping[str, str], locales: tuple[str, ...]) -> Operation:
    """Write the changed `cells` (locale → text, "" to remove) of the label at `path`."""

    def run(edit: BundleEdit) -> None:
        current: Any = load(edit.result().bundle)[0].data
        for step in path:
            try:
                current = current[step]
            except (KeyError, IndexError, TypeError) as exc:
                where = ".".join(map(str, path))
                raise EditError(f"the definition has no {where} any more") from exc
        if isinstance(current, str):
            _plain(edit, path, current, cells, locales)
        elif isinstance(current, dict):
            _mapped(edit, path, current, cells)
        else:
            raise EditError(f"{'.'.join(map(str, path))} is no label")

    return run


def _plain(
    edit: BundleEdit,
    path: JsonPath,
    text: str,
    cells: Mapping[str, str],
    locales: tuple[str, ...],
) -> None:
    default = locales[0]
    others = {loc: value for loc, value in cells.items() if loc != default and value}
    if not others:
        if cells.get(default):
            edit.set(path, cells[default])
        return
    texts = {default: cells.get(default) or text}
    texts.update({loc: others[loc] for loc in locales if loc in others})
    edit.set(path, texts)


def _mapped(
    edit: BundleEdit, path: JsonPath, texts: dict[str, Any], cells: Mapping[str, str]
) -> None:
    kept = [loc for loc in texts if not (loc in cells and not cells[loc])]
    for loc, value in cells.items():
        if value:
            edit.set((*path, loc), value)
        elif loc in texts:
            if not kept:
                raise EditError(f"{'.'.join(map(str, path))} needs at least one text")
            edit.delete((*path, loc))


def changed_cells(
    labels: list[Label], locales: tuple[str, ...], form: Mapping[str, str]
) -> dict[JsonPath, dict[str, str]]:
    """label path → {locale: posted text} for every posted cell that differs from the
    label as shown (`labels` from the revision the form was rendered from)."""
    by_key = {label.key: label for label in labels}
    out: dict[JsonPath, dict[str, str]] = {}
    for name, raw in form.items():
        if not name.startswith("cell:") or _SEP not in name:
            continue
        key, locale = name[5:].rsplit(_SEP, 1)
        label = by_key.get(key)
        if label is None or locale not in locales:
            continue
        value = raw.replace("\r\n", "\n").strip()
        shown = label.texts.get(locale, "") if not label.plain else label.text(locale)
        if label.plain and locale != locales[0]:
            shown = ""
        if value != shown.strip():
            # a block text (`|`) keeps its final line break: only the words changed
            if value and shown.endswith("\n"):
                value += "\n"
            out.setdefault(label.path, {})[locale] = value
    return out


def translations_view(slug: str, draft: int) -> Response | str:
    """The grid (GET) and its save (POST)."""
    ctx = open_draft(slug, draft)
    if request.method == "POST":
        return _post(open_draft(slug, draft, EDIT))
    return _render(ctx)


def _here(ctx: DraftContext, source: Mapping[str, str]) -> str:
    query = {k: source[k] for k in ("area", "locale", "missing") if source.get(k)}
    return editor_url("builder.translations", ctx, **query)


def _post(ctx: DraftContext) -> Response | str:
    shown = base_definition(ctx)
    locales = locales_of(shown)
    changes = changed_cells(labels_of(shown), locales, request.form)
    ops = [cell_op(path, cells, locales) for path, cells in changes.items()]
    count = sum(len(cells) for cells in changes.values())
    what = f"{count} text(s) in {len(changes)} label(s)"
    return run_edit(ctx, ops, editor="translations", what=what, done=_here(ctx, request.form))


def _render(ctx: DraftContext) -> str:
    data = definition(ctx)
    locales = locales_of(data)
    labels = labels_of(data)
    area = request.args.get("area", "")
    counts = {
        name: (
            sum(1 for label in labels if label.area == name),
            sum(1 for label in labels if label.area == name and _missing(label, locales)),
        )
        for name in AREAS
    }
    if area not in counts and area != "all":
        area = next((name for name in AREAS if counts[name][1]), "") or next(
            (name for name in AREAS if counts[name][0]), "all"
        )
    locale = request.args.get("locale", "")
    shown_locales = (locale,) if locale in locales else locales
    only_missing = request.args.get("missing") == "1"
    rows = [
        label
        for label in labels
        if (area == "all" or label.area == area)
        and (not only_missing or any(label.missing(loc, locales) for loc in shown_locales))
    ]
    return render_template(
        "builder/editors/translations.html",
        ctx=ctx,
        locales=locales,
        shown_locales=shown_locales,
        rows=rows,
        area=area,
        shown_locale=locale if locale in locales else "",
        only_missing=only_missing,
        counts=counts,
        total_missing=sum(1 for label in labels if _missing(label, locales)),
        long_keys=_LONG_KEYS,
        sep=_SEP,
        problems=[p for p in problems_under(ctx, ()) if p.code == "translation-missing"],
        message=saved_message(),
        title=_("Translations"),
    )


def _missing(label: Label, locales: tuple[str, ...]) -> bool:
    return any(label.missing(loc, locales) for loc in locales)

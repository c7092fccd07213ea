"""Display formatting of field values per type and locale: HTML for pages, plain text for CSV.

A `Formatter` serves one actor, entity view and locale. `prepare` batches every look-up a set
of records needs — one `store.titles` call per reference column, the authors' names with
`names_only`, one query for file names — so a page costs the same number of queries whatever
its size. Values the actor may not read are absent from records and show as empty.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale, dates
from markupsafe import Markup, escape

from portalis.engine.data.permissions import Actor
from portalis.engine.data.rows import Record
from portalis.engine.definition.block_configs import DetailBlock, FormBlock, ListBlock
from portalis.engine.definition.fieldtypes import ChoiceConfig, Money
from portalis.engine.definition.fieldtypes.markdown import EXCERPT_DEFAULT
from portalis.engine.definition.model import Entity, Field, Page

from .context import state
from .files import file_names
from .i18n import format_date, format_fixed, format_money, format_number
from .page_records import page_allowed
from .registry import RuntimePortal
from .richtext import plain_excerpt, render_record_markdown, rendered_cache
from .urls import portal_url, record_urls


def N_(message: str) -> str:
    """Mark a UI string for translation where it is defined; it is translated when shown."""
    return message


#: System columns a list may show, with their (translatable) headings.
SYSTEM_LABELS: Mapping[str, str] = {
    "id": N_("ID"),
    "created_at": N_("Created"),
    "updated_at": N_("Updated"),
    "created_by": N_("Created by"),
}
#: List cells show at most this many characters of long text.
SHORT_TEXT = 140
#: Field types whose value shows as its text (cut to `SHORT_TEXT` in lists) with no link.
PLAIN_TEXT = frozenset({"string", "text"})
_CLASS_SAFE = re.compile(r"[^a-z0-9_-]+")


def css_token(value: object) -> str:
    """`value` reduced to characters that are safe inside a class name."""
    return _CLASS_SAFE.sub("-", str(value).lower()).strip("-")[:40]


# -- pages that show records ----------------------------------------------------------------
def _find_page(portal: RuntimePortal, key: str, entity: str) -> tuple[str, ...]:
    """Names of pages of one kind for `entity`, computed once per portal version."""
    cache_key = ("pages", key, entity)
    found = portal.cache.get(cache_key)
    if found is None:
        names = []
        for page in portal.compiled.model.pages.values():
            for block in page.blocks:
                cfg = block.config
                if key == "detail" and isinstance(cfg, DetailBlock) and page.has_id:
                    hit = cfg.entity == entity
                elif key == "edit" and isinstance(cfg, FormBlock) and page.has_id:
                    hit = cfg.entity == entity and cfg.mode == "edit"
                elif key == "list" and isinstance(cfg, ListBlock) and not page.has_id:
                    hit = cfg.entity == entity and cfg.parent is None
                elif key == "create" and isinstance(cfg, FormBlock) and not page.has_id:
                    hit = cfg.entity == entity and cfg.mode == "create" and cfg.parent is None
                else:
                    hit = False
                if hit:
                    names.append(page.name)
                    break
        found = tuple(names)
        portal.cache[cache_key] = found
    return tuple(found)


def page_for(portal: RuntimePortal, actor: Actor, key: str, entity: str) -> Page | None:
    """The first `detail`, `edit`, `list` or `create` page of `entity` the actor may open."""
    pages = portal.compiled.model.pages
    for name in _find_page(portal, key, entity):
        if page_allowed(pages[name], actor):
            return pages[name]
    return None


# -- the formatter ------------------------------------------------------------------------
def short_text(value: Any) -> Markup:
    """A value's text for a list cell: cut to `SHORT_TEXT` characters with an ellipsis."""
    text = str(value)
    if len(text) > SHORT_TEXT:
        text = text[: SHORT_TEXT - 1].rstrip() + "…"
    return escape(text)


class Formatter:
    """Formats values of one entity for one actor and locale."""

    def __init__(self, portal: RuntimePortal, actor: Actor, locale: str) -> None:
        self.portal = portal
        self.actor = actor
        self.locale = locale
        self.model = portal.compiled.model
        self.titles: dict[str, dict[int, str]] = {}
        self.files: dict[str, str] = {}
        self.links: dict[str, Callable[[int], str] | None] = {}
        #: markup made once per formatter for values that repeat across rows (`cells`)
        self.memo: dict[Any, Markup] = {}

    def gettext(self, message: str, **params: Any) -> str:
        """A UI string in the formatter's locale."""
        return state().i18n.gettext(self.locale, message, **params)

    def label(self, value: Any, fallback: str = "") -> str:
        """A definition label in the formatter's locale."""
        if value is None:
            return fallback
        return str(value.get(self.locale, self.model.default_locale) or fallback)

    def column_label(self, entity: Entity, name: str) -> str:
        """The heading of a column: the field's label, or a system column's name."""
        field = entity.fields.get(name)
        if field is not None:
            return self.label(field.label, name)
        return self.gettext(SYSTEM_LABELS.get(name, name))

    # -- batching ---------------------------------------------------------------------------
    def prepare(
        self,
        entity: Entity,
        names: Iterable[str],
        records: Sequence[Record],
        joined: Mapping[str, Mapping[int, str]] | None = None,
    ) -> None:
        """Load titles of referenced records and names of files for `records` (batched).

        `joined` holds titles the list query already joined (`Page.titles`): those columns
        cost no query here.
        """
        store = self.portal.store
        joined = joined or {}
        file_ids: set[str] = set()
        for name in names:
            if name == "created_by":
                ids = [r.get("created_by") for r in records]
                self.titles[name] = (
                    dict(joined[name])
                    if name in joined
                    else store.titles(self.actor, "user", ids, names_only=True)
                )
                continue
            field = entity.fields.get(name)
            if field is None:
                continue
            if field.type == "ref":
                target = getattr(field.config, "to", "")
                ids = [r.get(name) for r in records if r.get(name) is not None]
                if name in joined:
                    self.titles[name] = dict(joined[name])
                else:
                    self.titles[name] = store.titles(self.actor, target, ids) if ids else {}
                page = page_for(self.portal, self.actor, "detail", target)
                self.links[name] = record_urls(page.name) if page is not None else None
            elif field.type == "file":
                file_ids.update(str(r.get(name)) for r in records if r.get(name))
        self.prepare_files(file_ids)

    def prepare_files(self, ids: Iterable[str]) -> None:
        """Load the display names of the given file ids (one query; none when empty)."""
        wanted = {i for i in ids if i and i not in self.files}
        if wanted:
            self.files.update(file_names(self.portal.store.engine, self.portal.slug, wanted))

    # -- HTML -------------------------------------------------------------------------------
    def html(
        self, entity: Entity, name: str, record: Record, *, link: bool = True, short: bool = False
    ) -> Markup:
        """The value of column `name` of `record` as HTML (empty when absent or masked)."""
        if name not in record:
            return Markup("")
        value = record.get(name)
        if name in SYSTEM_LABELS:
            return self.system_html(name, value)
        field = entity.fields.get(name)
        if field is None or value is None:
            return Markup("")
        if field.type == "markdown" and not short and "version" in record and "id" in record:
            cache = rendered_cache(self.portal.cache)
            return cache.html(entity.name, record.id, name, record.version, str(value))
        return self.value_html(field, value, link=link, short=short)

    def system_html(self, name: str, value: Any) -> Markup:
        """The value of system column `name` as HTML (`#id`, the author's name, a time)."""
        if value is None:
            return Markup("")
        if name == "id":
            return escape(f"#{value}")
        if name == "created_by":
            return escape(self.titles.get(name, {}).get(int(value), ""))
        return self.moment_html(value)

    def moment_html(self, value: Any) -> Markup:
        """A date or timestamp as a `<time>` element in the locale's words."""
        # list pages format many timestamps: the whole element is memoized (pure: the same
        # value, offset and locale give the same markup)
        if isinstance(value, datetime):
            return time_html(value, value.utcoffset(), self.locale or "en")
        if isinstance(value, date):
            text = format_date(value, self.locale)
            return Markup(f'<time datetime="{value.isoformat()}">{escape(text)}</time>')
        return escape(str(value))

    def datetime_text(self, value: datetime) -> str:
        """A timestamp as the locale writes it: medium date, short time (UTC)."""
        return datetime_text(
            value.astimezone(UTC).replace(second=0, microsecond=0), self.locale or "en"
        )

    def value_html(
        self, field: Field, value: Any, *, link: bool = True, short: bool = False
    ) -> Markup:
        """One field value as HTML, by field type."""
        kind = field.type
        if kind == "choice":
            label = escape(self.choice_label(field, value))
            return Markup(f'<span class="badge badge-{escape(css_token(value))}">{label}</span>')
        if kind == "tags":
            return Markup("").join(self.tag_html(field, t) for t in value)
        if kind == "bool":
            return escape(self.gettext("Yes") if value else self.gettext("No"))
        if kind == "money" and isinstance(value, Money):
            return escape(format_money(value.amount, value.currency, self.locale))
        if kind == "decimal" and isinstance(places := getattr(field.config, "places", None), int):
            return escape(format_fixed(value, places, self.locale))
        if kind in ("int", "decimal"):
            return escape(format_number(value, self.locale))
        if kind in ("date", "datetime"):
            return self.moment_html(value)
        if kind == "ref":
            return self.ref_html(field, value, link=link)
        if kind == "file":
            name = self.files.get(str(value)) or self.gettext("File")
            if not link:
                return escape(name)
            return Markup('<a href="{}" download>{}</a>').format(
                portal_url(f"/_files/{value}"), name
            )
        if kind == "json":
            return Markup("<code>{}</code>").format(_json_text(value))
        if kind == "markdown":
            if short:
                limit = getattr(field.config, "excerpt", EXCERPT_DEFAULT)
                return escape(plain_excerpt(str(value), limit))
            return Markup(render_record_markdown(str(value)))
        if link and kind == "email":
            return Markup('<a href="mailto:{}">{}</a>').format(value, value)
        if link and kind == "url":
            return Markup('<a href="{}" rel="noopener noreferrer nofollow">{}</a>').format(
                value, value
            )
        if link and kind == "phone":
            return Markup('<a href="tel:{}">{}</a>').format(re.sub(r"[^0-9+]", "", value), value)
        return short_text(value) if short else escape(str(value))

    def ref_html(self, field: Field, value: Any, *, link: bool) -> Markup:
        """A reference as its record's title (a link when `link` and the record has a page
        the actor may open), `#id` when the title is unknown."""
        title = self.titles.get(field.name, {}).get(int(value))
        if title is None:
            return escape(f"#{value}")
        url_of = self.links.get(field.name)
        if link and url_of:
            return Markup(f'<a href="{escape(url_of(int(value)))}">{escape(title)}</a>')
        return escape(title)

    def choice_label(self, field: Field, value: Any) -> str:
        """The translated label of a choice value."""
        config = field.config
        if isinstance(config, ChoiceConfig):
            return self.label(config.label_for(str(value)), str(value))
        return str(value)

    def tag_html(self, field: Field, tag: str) -> Markup:
        """One tag as a `tag` span with its translated label."""
        return Markup('<span class="tag">{}</span>').format(self._tag_label(field, tag))

    def _tag_label(self, field: Field, tag: str) -> str:
        for choice in getattr(field.config, "choices", ()):
            if choice.value == tag:
                return self.label(choice.label, tag)
        return tag

    # -- plain text -------------------------------------------------------------------------
    def text(self, entity: Entity, name: str, record: Record) -> str:
        """The value of column `name` as plain text (CSV): ISO dates, amount + currency."""
        if name not in record or record.get(name) is None:
            return ""
        value = record.get(name)
        if name == "created_by":
            return self.titles.get(name, {}).get(int(value), "")
        field = entity.fields.get(name)
        if field is None:
            return _iso(value)
        kind = field.type
        if kind == "choice":
            return self.choice_label(field, value)
        if kind == "tags":
            return ", ".join(self._tag_label(field, t) for t in value)
        if kind == "bool":
            return self.gettext("Yes") if value else self.gettext("No")
        if kind == "money" and isinstance(value, Money):
            return str(value)
        if kind == "ref":
            return self.titles.get(name, {}).get(int(value), f"#{value}")
        if kind == "file":
            return self.files.get(str(value), "")
        if kind == "json":
            return _json_text(value)
        return _iso(value)


def _iso(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


@lru_cache(maxsize=8192)
def time_html(value: datetime, offset: timedelta | None, locale_code: str) -> Markup:
    """A timestamp as `<time datetime="ISO">text</time>` (naive values are UTC).

    `offset` is part of the key because equal instants in other zones compare equal, and
    the `datetime` attribute writes the value's own offset.
    """
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    iso = aware.isoformat(timespec="seconds")
    text = datetime_text(aware.astimezone(UTC).replace(second=0, microsecond=0), locale_code)
    return Markup(f'<time datetime="{iso}">{escape(text)}</time>')


@lru_cache(maxsize=8192)
def datetime_text(value: datetime, locale_code: str) -> str:
    """A UTC timestamp (to the minute) in the locale's medium date and short time."""
    locale = Locale.parse(locale_code.replace("-", "_"))
    pattern = str(dates.get_datetime_format("medium", locale=locale))
    day = format_date(value.date(), locale_code)
    time = str(dates.format_time(value, "short", tzinfo=UTC, locale=locale))
    return pattern.replace("{1}", day).replace("{0}", time)

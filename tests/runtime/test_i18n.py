"""UI translations: complete, current catalogs; locale selection; locale-aware formatting.

The catalogs live in `platform/runtime/translations` and are maintained with `make i18n`
(extract -> update -> compile, see babel.cfg and the Makefile). These tests fail when a UI string
was added without extracting and translating it, when a translation breaks a placeholder, or when
the committed .mo files are older than the .po files.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from flask import Flask
from werkzeug.datastructures import LanguageAccept

from portalis.engine.deploy.validator import Checker
from portalis.runtime.app import create_app
from portalis.runtime.i18n import (
    TRANSLATIONS_DIR,
    UI_LOCALES,
    I18n,
    format_date,
    format_datetime,
    format_money,
    format_number,
    select_locale,
)
from portalis.runtime.settings import Settings
from portalis.testing.portals import BLUEPRINTS, deploy_dir, migrate_db

ROOT = Path(__file__).resolve().parents[2]
POT = TRANSLATIONS_DIR / "messages.pot"
TRANSLATED = ("de", "fr", "es")
PLURAL_FORMS = {
    "de": "nplurals=2; plural=(n != 1);",
    "fr": "nplurals=2; plural=(n > 1);",
    "es": "nplurals=2; plural=(n != 1);",
}
NBSP, NNBSP = "\u00a0", "\u202f"
HINT = "run `make i18n` and translate the new strings in every messages.po"

#: printf placeholders (`%(name)s`, `%%`, a stray `%`) and str.format fields (`{max}`, stray braces).
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]?|\{[^{}]*\}|[{}]")


def _read_po(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _po_path(locale: str) -> Path:
    return TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"


def _messages(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


def _ids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    return {m.id for m in _messages(catalog)}


def _placeholders(text: str) -> Counter[str]:
    return Counter(_PLACEHOLDER.findall(text))


def _show(ids: set[str | tuple[str, ...]]) -> str:
    return "\n  ".join(sorted(repr(i) for i in ids))


# -- (a) complete translations ------------------------------------------------------------------
def test_one_word_with_two_meanings_has_a_context_each() -> None:
    i18n = I18n()
    expected = {"de": ("Öffnen", "Offen"), "fr": ("Ouvrir", "Ouvert"), "es": ("Abrir", "Abierto")}
    for locale, (action, state) in expected.items():
        assert i18n.pgettext(locale, "action", "Open") == action
        assert i18n.pgettext(locale, "state", "Open") == state
    assert i18n.pgettext("en", "state", "Open") == "Open"


def test_catalog_files_exist() -> None:
    assert POT.is_file()
    for locale in UI_LOCALES:
        assert _po_path(locale).is_file(), locale
        assert _po_path(locale).with_suffix(".mo").is_file(), locale
    assert len(_messages(_read_po(POT))) > 100


@pytest.mark.parametrize("locale", UI_LOCALES)
def test_catalog_has_exactly_the_template_msgids(locale: str) -> None:
    expected = _ids(_read_po(POT))
    found = _ids(_read_po(_po_path(locale), locale))
    assert not expected - found, f"{locale} lacks msgids ({HINT}):\n  {_show(expected - found)}"
    assert not found - expected, f"{locale} has stale msgids ({HINT}):\n  {_show(found - expected)}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_msgid_is_translated(locale: str) -> None:
    catalog = _read_po(_po_path(locale), locale)
    assert not catalog.fuzzy, f"{locale}: the catalog header is marked fuzzy"
    assert catalog.plural_forms == PLURAL_FORMS[locale]
    problems = []
    for message in _messages(catalog):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if isinstance(message.id, tuple) and len(strings) != catalog.num_plurals:
            problems.append(
                f"{len(strings)} plural forms, not {catalog.num_plurals}: {message.id!r}"
            )
        if not all(s and s.strip() for s in strings):
            problems.append(f"untranslated: {message.id!r}")
    assert not problems, f"{locale} ({HINT}):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_placeholders_exactly(locale: str) -> None:
    problems = []
    for message in _messages(_read_po(_po_path(locale), locale)):
        if isinstance(message.id, tuple):
            singular, plural = (_placeholders(i) for i in message.id)
            forms = [_placeholders(s) for s in message.string]
            # every form uses only the msgids' placeholders; the last form is the general one
            if forms and forms[-1] != plural:
                problems.append(f"{message.id!r}: {dict(forms[-1])} != {dict(plural)}")
            for form in forms:
                if form - (singular | plural):
                    problems.append(f"{message.id!r}: unknown {dict(form - (singular | plural))}")
            continue
        expected, found = _placeholders(message.id), _placeholders(message.string)
        if expected != found:
            problems.append(
                f"{message.id!r} -> {message.string!r}: {dict(found)} != {dict(expected)}"
            )
    assert not problems, f"{locale}:\n  " + "\n  ".join(problems)


def test_placeholder_check_sees_mistakes() -> None:
    assert _placeholders("Hallo %(name)s") == _placeholders("Hello %(name)s")
    assert _placeholders("Hallo %(nom)s") != _placeholders("Hello %(name)s")
    assert _placeholders("100 % sicher") != _placeholders("surely")
    assert _placeholders("höchstens {max} Zeichen") == _placeholders("at most {max} characters")
    assert _placeholders("höchstens {max Zeichen") != _placeholders("at most {max} characters")


def _key(v: object) -> object:
    """Plural ids and strings come back from .mo files as lists; make them hashable."""
    return tuple(v) if isinstance(v, list) else v


# -- (b) compiled catalogs are current ----------------------------------------------------------
@pytest.mark.parametrize("locale", UI_LOCALES)
def test_compiled_catalog_matches_po(locale: str) -> None:
    po = _read_po(_po_path(locale), locale)
    # as babel's write_mo compiles them: empty plural forms fall back to the msgids
    expected = {
        m.id: tuple(s or m.id[min(i, 1)] for i, s in enumerate(m.string))
        if isinstance(m.id, tuple)
        else m.string
        for m in _messages(po)
        if m.string and not m.fuzzy
    }
    with _po_path(locale).with_suffix(".mo").open("rb") as f:
        compiled = {_key(m.id): _key(m.string) for m in _messages(read_mo(f))}
    stale = {k for k in expected.keys() | compiled.keys() if expected.get(k) != compiled.get(k)}
    assert not stale, f"{locale}: messages.mo is out of date ({HINT}):\n  {_show(stale)}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalogs_load_at_runtime(locale: str) -> None:
    loaded = Translations.load(str(TRANSLATIONS_DIR), [locale], domain="messages")
    assert isinstance(loaded, Translations), f"{locale}: no messages.mo found"
    i18n = I18n()
    assert i18n.gettext(locale, "Sign in") != "Sign in"
    assert i18n.gettext("en", "Sign in") == "Sign in"
    assert i18n.gettext("pt", "Sign in") == "Sign in"  # unknown locales: English


def test_runtime_translates_with_parameters() -> None:
    i18n = I18n()
    assert i18n.gettext("de", "Page %(n)s", n=3) == "Seite 3"
    assert i18n.gettext("fr", "Invitation sent to %(email)s.", email="a@b.test") == (
        "Invitation envoyée à a@b.test."
    )
    assert i18n.gettext("de-AT", "Cancel") == "Abbrechen"
    # engine validation messages use str.format fields and are translated through the catalogs
    template = i18n.catalog("de").gettext("must be at most {max} characters")
    assert template.format(max=200) == "darf höchstens 200 Zeichen lang sein"
    assert i18n.catalog("es").gettext("this field is required") == "este campo es obligatorio"


# -- (c) the template is current ----------------------------------------------------------------
def _make_keywords() -> list[str]:
    """The extraction keywords of `make i18n` (I18N_KEYWORDS in the Makefile)."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    found = re.search(r"^I18N_KEYWORDS\s*:?=(.*)$", text, re.MULTILINE)
    assert found, "the Makefile defines no I18N_KEYWORDS"
    return shlex.split(found.group(1))


def test_template_is_up_to_date_with_the_sources(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    argv = ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "--no-default-keywords"]
    argv += [*_make_keywords(), "-o", str(fresh), str(ROOT / "platform"), str(ROOT / "plugins")]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        CommandLineInterface().run(argv)
    extracted, committed = _ids(_read_po(fresh)), _ids(_read_po(POT))
    assert not extracted - committed, (
        f"new UI strings are not in messages.pot ({HINT}):\n  {_show(extracted - committed)}"
    )
    assert not committed - extracted, (
        f"messages.pot has strings the sources no longer use ({HINT}):\n"
        f"  {_show(committed - extracted)}"
    )


# -- (d) locale selection -----------------------------------------------------------------------
PORTAL_LOCALES = ("en", "de", "fr", "es")


@pytest.mark.parametrize(
    ("profile", "accept", "expected"),
    [
        ("fr", [("de", 1.0)], "fr"),  # the profile beats the browser
        (None, [("de", 1.0), ("en", 0.5)], "de"),  # the browser beats the portal default
        (None, [("es", 0.4), ("fr", 0.9)], "fr"),  # by quality
        (None, [("de-AT", 1.0)], "de"),  # a regional variant picks its language
        (None, [("es-MX", 1.0), ("en", 0.1)], "es"),  # a better base language beats en
        (None, [("ja", 1.0)], "en"),  # unsupported: the portal default
        (None, [("*", 1.0)], "en"),
        (None, None, "en"),  # no header
        ("pt", [("es", 1.0)], "es"),  # a profile locale the portal lacks is ignored
        ("pt", None, "en"),
    ],
)
def test_select_locale(
    profile: str | None, accept: list[tuple[str, float]] | None, expected: str
) -> None:
    header = LanguageAccept(accept) if accept is not None else None
    assert select_locale(PORTAL_LOCALES, profile, header) == expected


def test_select_locale_only_returns_portal_locales() -> None:
    assert select_locale(["de", "en"], None, LanguageAccept([("fr", 1.0)])) == "de"
    assert select_locale(["de", "en"], "fr", None) == "de"


# -- (e) formatting -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("locale", "money", "number", "day"),
    [
        ("en", "€1,234.50", "1,234,567.891", "Nov 24, 2026"),
        ("de", f"1.234,50{NBSP}€", "1.234.567,891", "24.11.2026"),
        ("fr", f"1{NNBSP}234,50{NBSP}€", f"1{NNBSP}234{NNBSP}567,891", "24 nov. 2026"),
        ("es", f"1.234,50{NBSP}€", "1.234.567,891", "24 nov 2026"),
    ],
)
def test_formatting(locale: str, money: str, number: str, day: str) -> None:
    assert format_money(Decimal("1234.50"), "EUR", locale) == money
    assert format_number(Decimal("1234567.891"), locale) == number
    assert format_date(date(2026, 11, 24), locale) == day
    assert format_date(datetime(2026, 11, 24, 23, 0, tzinfo=UTC), locale) == day


def test_formatting_other_values() -> None:
    assert format_money(Decimal("129"), "USD", "de") == f"129,00{NBSP}$"
    assert format_money(Decimal("129"), "CHF", "fr") == f"129,00{NBSP}CHF"
    assert format_date(date(2026, 11, 24), "de", "long") == "24. November 2026"
    assert format_date(date(2026, 11, 24), "es", "long") == "24 de noviembre de 2026"
    stamp = datetime(2026, 11, 24, 13, 5, tzinfo=UTC)
    assert format_datetime(stamp, "de", "Europe/Berlin") == "24.11.2026, 14:05:00"
    assert format_money(None, "EUR", "de") == format_number(None, "de") == ""
    assert format_date(None, "de") == format_datetime(None, "de") == ""


# -- (f) translated pages -----------------------------------------------------------------------
LOGIN = "/acme-support/login"
EXPECTED_LOGIN = {
    # language: (page title, submit button, another string of the page)
    "en": ("Sign in", "Sign in", "Forgot your password?"),
    "de": ("Anmelden", "Anmelden", "Passwort vergessen?"),
    "fr": ("Se connecter", "Se connecter", f"Mot de passe oublié{NBSP}?"),
    "es": ("Iniciar sesión", "Iniciar sesión", "¿Ha olvidado su contraseña?"),
}


@pytest.fixture
def b2c_app(
    db_engine: sa.Engine, database_url: str, portalis_checker: Checker, tmp_path: Path
) -> Iterator[Flask]:
    deploy_dir(db_engine, portalis_checker, BLUEPRINTS / "b2c")
    settings = Settings.from_env(
        {"PORTALIS_DATABASE_URL": database_url, "PORTALIS_INSTANCE_PATH": str(tmp_path / "i")},
        testing=True,
        version_check_seconds=0,
    )
    migrate_db(database_url)  # as `portalis deploy` does: apps create no tables
    app = create_app(settings)
    try:
        yield app
    finally:
        app.extensions["portalis"].engine.dispose()


def _button_texts(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>|\s+", " ", b).strip()
        for b in re.findall(r"(?s)<button[^>]*>(.*?)</button>", html)
    ]


def test_login_page_is_translated(b2c_app: Flask) -> None:
    client = b2c_app.test_client()
    for language, (title, button, other) in EXPECTED_LOGIN.items():
        response = client.get(LOGIN, headers={"Accept-Language": f"{language},en;q=0.1"})
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert f'<html lang="{language}"' in html
        page_title = re.search(r"(?s)<title>(.*?)</title>", html)
        assert page_title and page_title.group(1).strip().startswith(title), language
        assert button in _button_texts(html), (language, _button_texts(html))
        assert other in html, language
    german = client.get(LOGIN, headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Forgot your password?" not in german and "Skip to content" not in german


def test_unsupported_language_gets_the_portal_default(b2c_app: Flask) -> None:
    html = (
        b2c_app.test_client().get(LOGIN, headers={"Accept-Language": "ja"}).get_data(as_text=True)
    )
    assert '<html lang="en"' in html and "Forgot your password?" in html

"""The navigation and theme editors through the Flask client (SQLite and PostgreSQL): each
operation changes exactly its lines of the starter blueprint's draft; the theme's CSS and
SVG logo pass the deploy checks before they are saved; contrast below WCAG AA warns."""

from __future__ import annotations

import io

from builder_support import BuilderBrowser
from editor_support import form_values, new_draft, signed_in, text_diff

from portalis.builder.editors.theme_checks import contrast, svg_problem
from portalis.engine import drafts
from portalis.testing.web import WebPortal

NAV = "navigation: [{}]"
LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>\n'


def _url(web: WebPortal, draft: int, rel: str) -> str:
    return f"/_builder/p/{web.slug}/d/{draft}/{rel}"


def _saved(browser: BuilderBrowser, url: str, base: int, **values: object) -> int:
    done = browser.post(url, base_revision=str(base), **values)
    assert done.status_code == 303, done.text
    return int(done.headers["Location"].split("saved=")[1].split("#")[0])


def _nav(before: str, after: str) -> dict[str, list[str]]:
    return {"portal.yaml": ["@@ -43 +43 @@", "-" + NAV.format(before), "+" + NAV.format(after)]}


def test_each_navigation_operation_changes_only_its_lines(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    url = _url(web, draft, "navigation")
    page = browser.get(url).text
    assert page.index('id="nav-home"') < page.index('id="nav-tickets"')
    assert '<option value="ticket">' not in page  # needs a record id: never offered
    everything = "home, help, tickets, new_ticket, invoices, bookings, new_article"
    steps = [
        ({"action": "up", "page": "tickets"}, "home, tickets, help, new_ticket, invoices, bookings, new_article, dashboard"),
        ({"action": "down", "page": "tickets"}, f"{everything}, dashboard"),
        ({"action": "order", "order": "dashboard,home,help,tickets,new_ticket,invoices,bookings,new_article"}, f"dashboard, {everything}"),
        ({"action": "remove", "page": "dashboard"}, everything),
        ({"action": "add", "page": "dashboard"}, f"{everything}, dashboard"),
    ]  # fmt: skip
    before, base = f"{everything}, dashboard", 1
    for values, after in steps:
        number = _saved(browser, url, base, **values)
        assert text_diff(web, draft, base, number) == _nav(before, after), values
        before, base = after, number
    labels = form_values(browser.get(url).text, "id", "nav-home-labels")
    labels.update({"title.en": "Start", "title.fr": "Accueil"})
    number = _saved(browser, url, base, **{k: v for k, v in labels.items() if k != "base_revision"})
    assert text_diff(web, draft, base, number) == {
        "pages/public.yaml": [
            "@@ -4 +4 @@",
            "-    title: {en: Welcome, de: Willkommen, fr: Bienvenue, es: Bienvenido}",
            "+    title: {en: Start, de: Willkommen, fr: Accueil, es: Bienvenido}",
        ]
    }


def test_navigation_refuses_pages_with_a_record_id_and_stale_entries(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    url = _url(web, draft, "navigation")
    record = browser.post(url, base_revision="1", action="add", page="ticket")
    assert record.status_code == 422 and "cannot be added to the navigation" in record.text
    gone = browser.post(url, base_revision="1", action="remove", page="faq")
    assert gone.status_code == 422 and "has no entry faq" in gone.text
    assert drafts.get_draft(web.engine, draft).head == 1
    viewer = signed_in(web, "viewer@example.test", rights=("view",))
    assert "Add an entry" not in viewer.get(url).text
    assert viewer.post(url, base_revision="1", action="up", page="tickets").status_code == 404


def test_the_theme_samples_open_state_is_the_state_word_in_german(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    german = {"Accept-Language": "de"}
    theme = browser.get(_url(web, draft, "theme"), headers=german).text
    assert '<span class="badge badge-open">Offen</span>' in theme


def test_theme_colours_and_css_change_only_their_lines(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    url = _url(web, draft, "theme")
    values = form_values(browser.get(url).text, "id", "theme-form")
    values.pop("logo")
    assert values["theme.primary_color"] == "#0b5fff" and values["theme.text_color"] == ""
    css = values["css"]
    values.update({"theme.primary_color": "#123456", "theme.radius": "4px",
                   "css": css + ".hero { font-weight: 700; }\n"})  # fmt: skip
    number = _saved(browser, url, 1, **{k: v for k, v in values.items() if k != "base_revision"})
    last = css.splitlines().__len__()
    assert text_diff(web, draft, 1, number) == {
        "assets/portal.css": [f"@@ -{last},0 +{last + 1} @@", "+.hero { font-weight: 700; }"],
        "portal.yaml": [
            "@@ -16 +16 @@",
            '-  primary_color: "#0b5fff"',
            '+  primary_color: "#123456"',
            "@@ -19,0 +20 @@",
            "+  radius: 4px",
        ],
    }
    unchanged = form_values(browser.get(url).text, "id", "theme-form")
    unchanged.pop("logo")
    assert browser.post(url, **unchanged).status_code == 303
    assert drafts.get_draft(web.engine, draft).head == number
    preview = browser.get(_url(web, draft, "theme/preview.css")).text
    assert "--p-primary: #123456;" in preview and "--p-radius: 4px;" in preview


def test_unsafe_css_and_bad_colours_are_refused_with_their_errors(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    url = _url(web, draft, "theme")
    values = form_values(browser.get(url).text, "id", "theme-form")
    values.pop("logo")
    values.update({"theme.accent_color": "green", "css": "@imp\\ort url(x.css);"})
    refused = browser.post(url, **values)
    assert refused.status_code == 422
    assert "@import" in refused.text and "never allowed" in refused.text
    assert refused.text.count('class="field-error"') == 2
    assert drafts.get_draft(web.engine, draft).head == 1


def test_an_svg_logo_upload_lands_in_the_draft_and_others_are_refused(web: WebPortal) -> None:
    draft = new_draft(web)
    browser = signed_in(web)
    url = _url(web, draft, "theme")
    values = form_values(browser.get(url).text, "id", "theme-form")
    values.pop("base_revision")
    values.pop("logo")

    def upload(name: str, data: bytes, base: int) -> object:
        return browser.post(url, base_revision=str(base), logo=(io.BytesIO(data), name), **values)

    raster = upload("logo.png", b"\x89PNG\r\n\x1a\n", 1)
    assert raster.status_code == 422 and "raster images are not supported" in raster.text
    script = upload("logo.svg", LOGO.replace(b"<rect", b"<script>alert(1)</script><rect"), 1)
    assert script.status_code == 422 and "&lt;script" in script.text
    done = upload("logo.svg", LOGO, 1)
    assert done.status_code == 303
    assert text_diff(web, draft, 1, 2) == {
        "assets/logo.svg": ["@@ -1 +1 @@", *_old_logo(web), "+" + LOGO.decode().rstrip("\n")]
    }
    served = browser.get(_url(web, draft, "theme/logo.svg"))
    assert served.data == LOGO and "sandbox" in served.headers["Content-Security-Policy"]


def _old_logo(web: WebPortal) -> list[str]:
    text = web.compiled.bundle.files["assets/logo.svg"]
    return ["-" + line for line in text.splitlines()]


def test_low_contrast_warns_and_the_checks_measure_like_wcag(web: WebPortal) -> None:
    assert contrast("#000000", "#ffffff") == 21
    assert round(contrast("#ffffff", "#0b5fff") or 0, 2) == 5.13
    assert round(contrast("#777", "#fff") or 0, 2) == 4.48
    assert contrast("red", "#fff") is None
    assert svg_problem(b"<html/>") is not None and svg_problem(LOGO) is None
    assert "DOCTYPE" in (svg_problem(b'<!DOCTYPE svg [<!ENTITY a "b">]><svg/>') or "")
    draft = new_draft(web)
    browser = signed_in(web)
    url = _url(web, draft, "theme")
    assert "data-contrast" not in browser.get(url).text
    values = form_values(browser.get(url).text, "id", "theme-form")
    values.pop("base_revision")
    values.pop("logo")
    number = _saved(browser, url, 1, **{**values, "theme.primary_color": "#66aaff"})
    page = browser.get(f"{url}?saved={number}").text
    assert "White button text on the primary colour has a contrast of 2.4" in page


def test_a_theme_without_files_gets_its_css_and_logo_files(web: WebPortal) -> None:
    draft = new_draft(web)
    portal = drafts.revision_bundle(web.engine, draft, 1).files["portal.yaml"]
    bare = portal.replace("  logo: assets/logo.svg\n  css: assets/portal.css\n", "")
    assert bare != portal
    drafts.save(web.engine, draft, 1, {"portal.yaml": bare}, author=None, message="bare theme")
    browser = signed_in(web)
    url = _url(web, draft, "theme")
    values = form_values(browser.get(url).text, "id", "theme-form")
    assert values.pop("css") == ""
    values.pop("logo")
    values.pop("base_revision")
    done = browser.post(
        url, base_revision="2", css=".hero { color: #123; }\n",
        logo=(io.BytesIO(LOGO), "brand.svg"), **values,
    )  # fmt: skip
    assert done.status_code == 303, done.text
    diff = text_diff(web, draft, 2, 3)
    assert diff["assets/theme.css"] == ["@@ -0,0 +1 @@", "+.hero { color: #123; }"]
    assert diff["assets/logo.svg"][-1] == "+" + LOGO.decode().rstrip("\n")
    assert diff["portal.yaml"] == [
        "@@ -17,0 +18,2 @@",
        "+  css: assets/theme.css",
        "+  logo: assets/logo.svg",
    ]

"""The theme editor: `…/d/<draft>/theme` — colours, font, corner radius, logo and custom CSS,
with a live preview pane.

The colours, font and radius are a form generated from the `theme` schema (`schema_form`):
each colour is a text field (`#rrggbb`, works without JavaScript) paired with a colour
picker that `static/builder/theme_preview.js` keeps in step. The contrast of the button
text (white) on the primary colour and of the text on the background is checked against
WCAG AA (4.5:1) and shown as a warning. The logo upload takes an SVG (bundles hold texts;
see `theme_checks`) and lands in the draft at the theme's logo path (else
`assets/logo.svg`); the custom CSS is written to the theme's CSS file (else
`assets/theme.css`) after the validator's own check (`unsafe_css`). Every change is saved
through `builder.editing`.

The preview pane is the portal's chrome (header, navigation, button, table, badge) drawn
with the runtime's stylesheet inside `.theme-preview`, whose custom properties come from
`…/theme/preview.css` (the draft's saved theme); the script updates them through the CSSOM
while the user types, so the CSP needs no inline styles.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from werkzeug.wrappers import Response

from portalis.engine.definition.css import unsafe_css
from portalis.engine.definition.yamledit import BundleEdit
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
from ..schema_form import UNSET, SchemaForm
from .theme_checks import AA_NORMAL, contrast, rgb, svg_problem

COLORS = ("primary_color", "accent_color", "background_color", "text_color")
#: The runtime stylesheet's defaults (`portalis.css`), used when the theme leaves one out.
DEFAULTS = {
    "primary_color": "#0b5fff",
    "accent_color": "#00a676",
    "background_color": "#f5f7fb",
    "text_color": "#14213d",
}
_VARIABLES = {
    "primary_color": "--p-primary",
    "accent_color": "--p-accent",
    "background_color": "--p-bg",
    "text_color": "--p-text",
    "font": "--p-font",
    "radius": "--p-radius",
}
LOGO_FILE = "assets/logo.svg"
CSS_FILE = "assets/theme.css"


def register(bp: Blueprint) -> None:
    """Add the theme editor's routes to the builder blueprint."""
    prefix = "/p/<slug>/d/<int:draft>/theme"
    bp.add_url_rule(prefix, "theme", theme_view, methods=["GET", "POST"])
    bp.add_url_rule(f"{prefix}/preview.css", "theme_preview_css", preview_css_view)
    bp.add_url_rule(f"{prefix}/logo.svg", "theme_logo", logo_view)


def theme_of(data: dict[str, Any]) -> dict[str, Any]:
    """The `theme:` mapping of a definition (empty when it has none)."""
    found = data.get("theme")
    return found if isinstance(found, dict) else {}


def settings_form(data: dict[str, Any], prefix: str = "theme") -> SchemaForm:
    """The generated form of the theme's settings (every property but the two files)."""
    defs = state().checker.schema["$defs"]
    spec = defs["theme"]
    props = {k: v for k, v in spec["properties"].items() if k not in ("logo", "css")}
    schema = {"type": "object", "properties": props, "$defs": defs}
    current = {k: v for k, v in theme_of(data).items() if k in props}
    return SchemaForm(schema, current, prefix)


def contrast_warnings(values: dict[str, Any]) -> list[str]:
    """The WCAG AA contrast failures of the theme's colours, in words."""
    merged = {k: str(values.get(k) or DEFAULTS[k]) for k in COLORS}
    out = []
    on_primary = contrast("#ffffff", merged["primary_color"])
    if on_primary is not None and on_primary < AA_NORMAL:
        ratio = format(on_primary, ".2f")
        out.append(
            _(
                "White button text on the primary colour has a contrast of %(ratio)s:1; "
                "WCAG AA needs 4.5:1.",
                ratio=ratio,
            )
        )
    text = contrast(merged["text_color"], merged["background_color"])
    if text is not None and text < AA_NORMAL:
        ratio = format(text, ".2f")
        out.append(
            _(
                "The text colour on the background has a contrast of %(ratio)s:1; "
                "WCAG AA needs 4.5:1.",
                ratio=ratio,
            )
        )
    return out


def variables_css(values: dict[str, Any]) -> str:
    """`.theme-preview { --p-…: … }` of the theme's valid values."""
    lines = []
    for key, name in _VARIABLES.items():
        value = values.get(key)
        if not isinstance(value, str) or not value:
            continue
        if key in COLORS and rgb(value) is None:
            continue
        if key != "font" or not any(c in value for c in ";{}<>\\"):
            lines.append(f"  {name}: {value};")
    return ".theme-preview {\n" + "\n".join(lines) + "\n}\n"


def preview_css_view(slug: str, draft: int) -> Response:
    """The draft's theme as custom properties of the preview pane."""
    ctx = open_draft(slug, draft)
    return Response(variables_css(theme_of(definition(ctx))), mimetype="text/css")


def logo_view(slug: str, draft: int) -> Response:
    """The draft's SVG logo, served as deploy serves it: scripts inside can never run."""
    ctx = open_draft(slug, draft)
    path = theme_of(definition(ctx)).get("logo")
    if not isinstance(path, str) or path not in ctx.bundle.files:
        return Response(status=404)
    response = Response(ctx.bundle.files[path], mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    )
    return response


def theme_view(slug: str, draft: int) -> Response | str:
    """The theme form and preview; a POST saves the changed settings, CSS and logo."""
    ctx = open_draft(slug, draft)
    if request.method == "POST":
        return _post(open_draft(slug, draft, EDIT))
    return _render(ctx, settings_form(definition(ctx)), {}, css_text(ctx))


def css_text(ctx: DraftContext) -> str:
    """The text of the draft's custom CSS file ('' when there is none)."""
    path = theme_of(definition(ctx)).get("css")
    return ctx.bundle.files.get(path, "") if isinstance(path, str) else ""


def _set(path: tuple[str, ...], value: Any) -> Operation:
    if value is UNSET:
        return lambda edit: edit.delete(path)
    return lambda edit: edit.set(path, value)


def _file_op(key: str, target: str, text: str, referenced: bool) -> Operation:
    def run(edit: BundleEdit) -> None:
        edit.set_file(target, text)
        if not referenced:
            edit.set(("theme", key), target)

    return run


def _post(ctx: DraftContext) -> Response | str:
    shown = base_definition(ctx)
    form = settings_form(shown)
    parsed = form.parse(request.form)
    errors: dict[str, str] = dict(parsed.errors)
    ops: list[Operation] = [_set(("theme", *path), value) for path, value in parsed.changes]
    what = [".".join(path) for path, _value in parsed.changes]
    theme = theme_of(shown)
    posted_css = request.form.get("css", "").replace("\r\n", "\n")
    css_path = theme.get("css") if isinstance(theme.get("css"), str) else None
    before = ctx.bundle.files.get(css_path, "") if css_path else ""
    if "\r\n" in before:
        posted_css = posted_css.replace("\n", "\r\n")
    if "css" in request.form and posted_css.strip() != before.strip():
        found = unsafe_css(posted_css)
        if found:
            errors["css"] = _("The CSS contains %(found)s, which is never allowed.", found=found)
        elif posted_css.strip() or css_path:
            ops.append(_file_op("css", css_path or CSS_FILE, posted_css, css_path is not None))
            what.append("css")
    upload = request.files.get("logo")
    if upload is not None and upload.filename:
        data = upload.stream.read()
        problem = svg_problem(data) if upload.filename.lower().endswith(".svg") else None
        if not upload.filename.lower().endswith(".svg"):
            problem = _("The logo must be an SVG file; raster images are not supported.")
        if problem:
            errors["logo"] = problem
        else:
            logo_path = theme.get("logo") if isinstance(theme.get("logo"), str) else None
            target = logo_path if logo_path and logo_path.endswith(".svg") else LOGO_FILE
            ops.append(_file_op("logo", target, data.decode("utf-8"), target == logo_path))
            what.append("logo")
    if errors:
        body = _render(ctx, form, errors, posted_css)
        return Response(body, 422, mimetype="text/html")
    here = editor_url("builder.theme", ctx)
    return run_edit(ctx, ops, editor="theme", what="theme: " + ", ".join(what), done=here)


def _render(ctx: DraftContext, form: SchemaForm, errors: dict[str, str], css: str) -> str:
    data = definition(ctx)
    values = {f.path[0]: f.value for f in form.fields}
    return render_template(
        "builder/editors/theme.html",
        ctx=ctx,
        form=form,
        colors=COLORS,
        defaults=DEFAULTS,
        warnings=contrast_warnings(values),
        errors=errors,
        css=css,
        theme=theme_of(data),
        pages=_nav_titles(data),
        problems=problems_under(ctx, ("theme",)),
        message=saved_message(),
        title=_("Theme"),
    )


def _nav_titles(data: dict[str, Any]) -> list[str]:
    pages = data.get("pages") or {}
    out = []
    for name in data.get("navigation") or []:
        title = (pages.get(name) or {}).get("title")
        if isinstance(title, dict):
            title = next(iter(title.values()), name)
        out.append(str(title or name))
    return out[:4]

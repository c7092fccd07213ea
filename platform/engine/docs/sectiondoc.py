"""The "Definition sections" part of the reference: every block type's, provider type's and
plugin-owned `auth:` key's section, with the plugin that provides it, its description, an
example and a link to the schema object that lists its keys."""

from __future__ import annotations

from collections.abc import Sequence

import pluggy

from ..definition.schema.compose import section_def
from ..definition.sections import DefinitionSection
from .refdoc import SchemaDoc, escape_text, table

#: How each place is introduced in the reference.
PLACE_TITLES = {
    "block": ("Block types", "A page's `blocks:` list holds blocks: one key, the block type."),
    "provider": (
        "Sign-in provider types",
        "`auth.providers` entries: `type:` selects one of these; every entry may also set "
        "`name` and `label`.",
    ),
    "auth": ("`auth:` keys from plugins", "Keys of `auth:` that a plugin owns and enforces."),
    "payment": (
        "Payment provider types",
        "`payments.providers` entries: `type:` selects one of these; every entry may also set "
        "`name` and `label`.",
    ),
}


def owned_sections(pm: pluggy.PluginManager) -> list[tuple[str, DefinitionSection]]:
    """(providing plugin's name, section) for every section, in registration order; a later
    registration of the same place and name replaces an earlier one, as in the checker."""
    found: dict[tuple[str, str], tuple[str, DefinitionSection]] = {}
    for impl in reversed(pm.hook.portalis_definition_sections.get_hookimpls()):
        result = impl.function()
        for section in result if isinstance(result, list) else ():
            found[(section.place, section.name)] = (impl.plugin_name, section)
    return list(found.values())


def example_in_place(section: DefinitionSection) -> list[str]:
    """The section's example as it is written in a definition: a block in a page's list, a
    provider entry in `auth.providers` (or `payments.providers`), a key under `auth:`."""
    body = section.example.rstrip("\n").splitlines()
    if section.place == "block":
        return [f"- {section.name}:", *(f"    {line}" for line in body)]
    if section.place in ("provider", "payment"):
        return [f"- type: {section.name}", *(f"  {line}" for line in body)]
    return ["auth:", f"  {section.name}:", *(f"    {line}" for line in body)]


def _owner(name: str) -> str:
    """A plugin name for readers: the built-ins are `core`."""
    return "core" if name.startswith("portalis.") else name


def sections_part(doc: SchemaDoc, sections: Sequence[tuple[str, DefinitionSection]]) -> list[str]:
    """The part's Markdown: per place, a summary table, then one entry per section."""
    lines = [
        "## Definition sections",
        "",
        "Block types, sign-in and payment provider types and some `auth:` keys are",
        "*definition sections*: the plugin that provides one (the core included) supplies its schema, its checks and",
        "its compile step through the `portalis_definition_sections` hook (see plugins.md). A",
        "definition that uses a section no loaded plugin provides is invalid, so such a setting",
        "is never served without the code that enforces it. This reference lists the core's",
        "sections and those of the first-party plugins.",
        "",
    ]
    for place, (title, intro) in PLACE_TITLES.items():
        here = [(owner, s) for owner, s in sections if s.place == place]
        if not here:
            continue
        lines += [f"### {title}", "", intro, ""]
        rows = [
            [f"`{s.name}`", escape_text(s.title), f"`{_owner(owner)}`", doc.link(section_def(s))]
            for owner, s in here
        ]
        lines += [*table(("Name", "Title", "Provided by", "Keys"), rows), ""]
        for owner, section in here:
            lines += [f"#### `{section.key}`: {escape_text(section.title)}", ""]
            if section.description:
                lines += [escape_text(section.description), ""]
            lines += [f"Provided by `{_owner(owner)}`; keys: {doc.link(section_def(section))}."]
            if section.secret_options:
                secrets = ", ".join(f"`{key}`" for key in section.secret_options)
                lines += [f"Secret options (write them as `${{ENV}}` references): {secrets}."]
            lines.append("")
            if section.example:
                lines += ["```yaml", *example_in_place(section), "```", ""]
    return lines

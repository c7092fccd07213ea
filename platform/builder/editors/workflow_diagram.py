"""The workflow diagram: Graphviz `dot` draws the states and transitions the editor's table
shows, from the same reading of the YAML (`workflow_model.Workflow`), on every new revision.

`dot_source` writes the graph with every name and label quoted and escaped for DOT;
`diagram` runs `dot -Tsvg` (with a timeout), cleans the SVG with the strict allow-list of
`builder.svg_clean` and caches the result per (draft, revision, workflow, locale) — revisions
never change, so page views do not run `dot` again. Without `dot` on the PATH (Debian package
`graphviz`) the answer carries a note and no SVG: the table stays the full description.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from markupsafe import Markup

from portalis.runtime.context import state
from portalis.runtime.templating import gettext as _

from ..svg_clean import SvgError, clean_svg
from .workflow_model import Workflow, text_of

#: Seconds `dot` may take before the diagram is given up.
DOT_TIMEOUT = 10
_CACHE = "builder_workflow_diagrams"
_KEPT = 64


@dataclass(frozen=True, slots=True)
class Diagram:
    """The sanitised inline SVG, or why there is none."""

    svg: Markup | None
    note: str | None


def quoted(text: str) -> str:
    """`text` as a DOT double-quoted string: backslashes and quotes escaped, so an escape
    sequence (`\\N`, `\\l`) or a quote in a label is shown as written; line breaks become
    spaces."""
    flat = " ".join(text.splitlines())
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_source(flow: Workflow, locale: str) -> str:
    """The DOT graph of `flow`: a node per state (the initial one bold), an edge per
    transition and source state labelled with the transition's label, and a dashed edge per
    timer that takes a transition."""
    lines = [
        f"digraph {quoted(flow.name)} {{",
        '  graph [rankdir=LR, fontname="sans-serif", bgcolor="transparent"];',
        '  node [shape=box, style="rounded", fontname="sans-serif", fontsize=12];',
        '  edge [fontname="sans-serif", fontsize=10];',
    ]
    named = set(flow.states)
    for t in flow.transitions:
        named.update((*t.sources, t.target))
    for name in [*flow.states, *sorted(named - set(flow.states))]:
        label = text_of(flow.state_labels.get(name), locale, name)
        bold = ', penwidth=2, style="rounded,bold"' if name == flow.initial else ""
        lines.append(f"  {quoted(name)} [label={quoted(label)}{bold}];")
    by_name = {t.name: t for t in flow.transitions}
    for t in flow.transitions:
        label = text_of(t.label, locale, t.name)
        for source in t.sources:
            lines.append(f"  {quoted(source)} -> {quoted(t.target)} [label={quoted(label)}];")
    for timer in flow.timers:
        taken = by_name.get(str(timer.spec.get("transition", "")))
        if taken is not None:
            after = str(timer.spec.get("after", ""))
            lines.append(
                f"  {quoted(timer.state)} -> {quoted(taken.target)} "
                f"[style=dashed, label={quoted(after)}];"
            )
    lines.append("}")
    return "\n".join(lines) + "\n"


def diagram(key: tuple[int, int], flow: Workflow, locale: str) -> Diagram:
    """The diagram of `flow` in draft revision `key` = (draft, revision), cached."""
    cache: dict[tuple[object, ...], Diagram] = state().extra.setdefault(_CACHE, {})
    full = (*key, flow.name, locale)
    if full not in cache:
        if len(cache) >= _KEPT:  # oldest first: dicts keep insertion order
            del cache[next(iter(cache))]
        cache[full] = draw(flow, locale)
    return cache[full]


def draw(flow: Workflow, locale: str) -> Diagram:
    """Run `dot` on the workflow and clean its SVG (no cache)."""
    dot = shutil.which("dot")
    if dot is None:
        return Diagram(
            None,
            _(
                "The diagram needs Graphviz (the dot program), which this server lacks; "
                "the table below describes the whole workflow."
            ),
        )
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program; the graph goes in on stdin
            [dot, "-Tsvg"],
            input=dot_source(flow, locale).encode(),
            capture_output=True,
            timeout=DOT_TIMEOUT,
            check=True,
        )
        label = _("Diagram of workflow %(name)s", name=flow.name)
        return Diagram(Markup(clean_svg(done.stdout.decode(), label=label)), None)  # noqa: S704 - cleaned by an allow-list
    except (subprocess.SubprocessError, OSError, SvgError, UnicodeDecodeError):
        return Diagram(
            None,
            _("The diagram could not be drawn; the table below describes the whole workflow."),
        )

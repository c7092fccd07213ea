"""The workflow diagram's two safety seams without a server: DOT input with every name and
label escaped, and the allow-list cleaner of the SVG that `dot` gives back."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from portalis.builder.editors.workflow_diagram import dot_source, quoted
from portalis.builder.editors.workflow_model import workflow_of
from portalis.builder.svg_clean import SvgError, clean_svg

HOSTILE = 'say "hi" \\N \\l <script>alert(1)</script>\nnext'

_DATA = {
    "entities": {
        "ticket": {
            "fields": {
                "status": {
                    "type": "choice",
                    "options": [{"value": "open", "label": {"en": HOSTILE}}, {"value": "done"}],
                }
            }
        }
    }
}
_SPEC = {
    "entity": "ticket",
    "field": "status",
    "initial": "open",
    "transitions": [{"name": "finish", "from": "open", "to": "done", "label": {"en": 'a"];x'}}],
}


def test_quoted_escapes_quotes_backslashes_and_line_breaks() -> None:
    assert quoted('a"b\\c') == '"a\\"b\\\\c"'
    assert quoted("one\ntwo") == '"one two"'


def test_dot_source_quotes_every_name_and_label() -> None:
    source = dot_source(workflow_of(_DATA, 'flow"x', _SPEC), "en")
    assert source.startswith('digraph "flow\\"x" {')
    assert '"open" -> "done" [label="a\\"];x"];' in source
    assert "\\\\N \\\\l" in source and "\n  next" not in source


def test_dot_draws_hostile_labels_as_text() -> None:
    if shutil.which("dot") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Graphviz `dot` is missing (Debian package graphviz: make system-deps)")
        pytest.skip("Graphviz `dot` is not installed")
    source = dot_source(workflow_of(_DATA, "flow", _SPEC), "en")
    done = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, check=True)
    svg = clean_svg(done.stdout.decode(), label="Diagram")
    assert "<script" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "say &quot;hi&quot; \\N \\l" in svg or 'say "hi" \\N \\l' in svg
    assert "a&quot;];x" in svg or 'a"];x' in svg


def test_clean_svg_keeps_drawing_and_drops_everything_active() -> None:
    hostile = (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "boom">]>'
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        ' width="10pt" viewBox="0 0 10 10" onload="alert(1)">'
        "<script>alert(2)</script><style>*{}</style>"
        '<g class="node" id="n1" style="fill:red"><title>open</title>'
        '<a xlink:href="javascript:alert(3)" href="https://evil.test/"><text x="1">in link</text></a>'
        '<ellipse fill="url(https://evil.test/x)" stroke="black" cx="1" onclick="alert(4)"/>'
        '<image href="https://evil.test/i.png"/><use xlink:href="#n1"/>'
        '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">html</div></foreignObject>'
        "</g></svg>"
    )
    svg = clean_svg(hostile, label='Flow "x" <b>')
    assert svg.startswith(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10pt" viewBox="0 0 10 10"'
    )
    assert 'role="img" aria-label="Flow &quot;x&quot; &lt;b&gt;"' in svg
    assert "<title>Flow &quot;x&quot; &lt;b&gt;</title>" in svg
    assert '<g class="node"><title>open</title><text x="1">in link</text>' in svg
    assert '<ellipse stroke="black" cx="1"></ellipse>' in svg
    for gone in ("script", "style", "onload", "onclick", "href", "evil", "image", "use",
                 "foreignObject", "html", "id=", "alert"):  # fmt: skip
        assert gone not in svg, gone


def test_clean_svg_refuses_what_is_not_svg() -> None:
    with pytest.raises(SvgError):
        clean_svg("<html></html>", label="x")
    with pytest.raises(SvgError):
        clean_svg("<svg><g></svg>", label="x")
    with pytest.raises(SvgError):
        clean_svg("<svg></svg>", label="x")  # not in the SVG namespace

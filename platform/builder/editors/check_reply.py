"""The JSON answer of the editors' live expression checks (entity fields, workflow guards):
what `validate` would report there, for the check script next to the expression's input."""

from __future__ import annotations

from flask import Response, jsonify

from portalis.engine.problems import Problem


def check_reply(found: list[Problem]) -> Response:
    """`{"ok": true}` when `found` is empty, else `ok` false and each problem's code,
    message, hint and place."""
    return jsonify(
        ok=not found,
        problems=[
            {
                "code": p.code,
                "message": p.message,
                "hint": p.hint,
                "file": p.file,
                "line": p.line,
                "col": p.col,
            }
            for p in found
        ],
    )

"""The core names no plugin: nothing under `platform/` refers to a first-party plugin by name.

What the first-party plugins do reaches the core only through the hooks, so the core works the
same with any of them removed or replaced (the import-linter contract "core imports no plugin"
covers imports; this covers names). Looked at: identifiers and string literals of the Python
modules, templates (minus Jinja comments), JSON, translation catalogs and other text. Not
looked at: comments and docstrings of Python modules — prose that names a plugin as an example
of a kind ("a form provider (LDAP, …)") couples nothing. A hit outside `ALLOWED` fails; an
`ALLOWED` entry that no longer matches anything fails too, so the list only shrinks.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "platform"
#: The first-party plugins' names as words (`portalis_ldap`, `ldap_options`, `"ldap"`, `LDAP`,
#: `portalis-ip-allowlist`, `ip_allowlist`, `portalis_stripe`, `portalis_payments_sandbox`);
#: `_` and `-` separate words, letters and digits do not. (The sandbox's provider type `sandbox` alone is no name:
#: the expression sandbox is a core concept.)
NAMES = re.compile(
    r"(?i)(?<![a-z0-9])(?:ldap|oidc|saml|totp|stripe|ip[_-]allowlist|payments[_-]sandbox)(?![a-z0-9])"
)
#: Text files of the core (compiled catalogs and images are not text).
SUFFIXES = frozenset({".py", ".html", ".js", ".css", ".json", ".txt", ".po", ".pot", ".cfg"})
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)

#: Files (glob, relative to the repository) that may name a first-party plugin, and why.
ALLOWED: dict[str, str] = {
    "platform/engine/definition/schema/portal.schema.json": (
        "generated for editors and the reference (`make docs`): the composed schema carries "
        "the base schema's descriptions and, when generated with them, the plugins' sections"
    ),
    "platform/runtime/data/common-passwords.txt": (
        "a list of passwords people often choose: the word stripe is one of them, not a "
        "reference to the Stripe plugin"
    ),
    "platform/runtime/translations/*": (
        "known coupling, not yet moved: `make i18n` extracts the messages of `plugins/` into "
        "the core's catalogs, so their source references name the TOTP plugin's files; the "
        "plugins' messages belong in catalogs of their own"
    ),
}


def _docstring_lines(tree: ast.AST) -> set[int]:
    """First lines of the docstrings of a module, its classes and functions."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines.add(first.lineno)
    return lines


def python_hits(text: str) -> list[tuple[int, str]]:
    """(line, token) of identifiers and non-docstring string literals that name a plugin."""
    docstrings = _docstring_lines(ast.parse(text))
    hits = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type not in (tokenize.NAME, tokenize.STRING):
            continue
        if token.type == tokenize.STRING and token.start[0] in docstrings:
            continue
        if NAMES.search(token.string):
            hits.append((token.start[0], token.string))
    return hits


def text_hits(text: str, *, jinja: bool = False) -> list[tuple[int, str]]:
    """(line, line text) of each line that names a plugin (Jinja comments blanked)."""
    if jinja:  # keep the line numbers: a comment becomes as many empty lines
        text = _JINJA_COMMENT.sub(lambda m: "\n" * m.group().count("\n"), text)
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if NAMES.search(line)]


def core_hits() -> dict[str, list[tuple[int, str]]]:
    """Every core file that names a plugin → where."""
    found = {}
    for path in sorted(CORE.rglob("*")):
        if path.suffix not in SUFFIXES or "__pycache__" in path.parts or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".py":
            hits = python_hits(text)
        else:
            hits = text_hits(text, jinja=path.suffix == ".html")
        if hits:
            found[path.relative_to(ROOT).as_posix()] = hits
    return found


def _allowed(name: str) -> bool:
    return any(fnmatch(name, pattern) for pattern in ALLOWED)


def test_no_core_file_names_a_first_party_plugin() -> None:
    offending = {name: hits for name, hits in core_hits().items() if not _allowed(name)}
    assert offending == {}, (
        "the core names a first-party plugin; reach it through a hook instead "
        "(or, for text shown to users only, add the file to ALLOWED with the reason)"
    )


def test_every_allowed_entry_still_matches() -> None:
    names = list(core_hits())
    stale = [pattern for pattern in ALLOWED if not any(fnmatch(n, pattern) for n in names)]
    assert stale == [], f"no longer needed, remove from ALLOWED: {stale}"


def test_the_scan_finds_names_in_code_and_skips_prose() -> None:
    """The scanner itself: identifiers and literals count, comments and docstrings do not."""
    code = '''"""A form provider (LDAP, …)."""
import portalis_totp  # the TOTP plugin
KIND = "oidc"
def bind(entry):
    """Binds SAML entries."""
    return entry.ip_allowlist
LABEL = f"{KIND} via Ldap"
'''
    assert [line for line, _ in python_hits(code)] == [2, 3, 6, 7]
    page = "{# the LDAP form #}\n<p>{{ _('Sign in with SAML') }}</p>\n<p>ldaps is not ldap_x</p>\n"
    assert [line for line, _ in text_hits(page, jinja=True)] == [2, 3]
    assert not NAMES.search("ldaps://, samlx, mytotp, ip_allowlister, expression sandbox")
    assert NAMES.search("portalis-payments-sandbox")

"""Generate the reference documentation with the first-party plugins loaded (`make docs`).

    python -m portalis.runtime.docgen [--check] [OUTDIR]

The definition reference and the committed `portal.schema.json` then describe the sections
of the plugins shipped in `plugins/` (OIDC, SAML, LDAP, TOTP, the IP allow-list) next to the
core's. The plugins are imported by module name from the `plugins/*/src/portalis_*` folders
of the repository, never from whatever entry points happen to be installed, so the generated
files do not depend on the machine.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pluggy

from portalis.engine.docs import docgen

from . import default_plugins

#: The repository's folder of first-party plugin distributions.
PLUGINS_DIR = Path(__file__).resolve().parents[2] / "plugins"


def first_party_modules(folder: Path = PLUGINS_DIR) -> list[ModuleType]:
    """The first-party plugins' top-level modules, in folder order."""
    names = sorted(p.name for p in folder.glob("*/src/portalis_*") if (p / "__init__.py").is_file())
    return [importlib.import_module(name) for name in names]


def first_party_plugin_manager() -> pluggy.PluginManager:
    """The built-in plugins and the first-party ones (no other entry points)."""
    return default_plugins.plugin_manager(extra=first_party_modules(), load_entrypoints=False)


def main(argv: Sequence[str] | None = None) -> int:
    """`docgen` with the first-party plugins."""
    return docgen.main(argv, first_party_plugin_manager())


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

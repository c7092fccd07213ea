"""The plugin contract: the facades `portalis.api` and `portalis.web` are explicit and
documented, and the first-party plugins import nothing else of Portalis."""

from __future__ import annotations

import ast
import configparser
import importlib
import inspect
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from portalis.engine.docs import docgen, facadedoc

ROOT = Path(__file__).resolve().parent.parent
PLUGINS_DIR = ROOT / "plugins"
PLUGINS_DOC = ROOT / "docs" / docgen.PLUGINS_NAME
GUIDE = ROOT / "docs" / "guide-plugin-authors.md"
#: What a plugin may import from Portalis (tests: `portalis.testing` and its modules).
ALLOWED = ("portalis.api", "portalis.web", "portalis.testing")
#: The import-linter contract that enforces `ALLOWED` on the plugin packages.
CONTRACT = "importlinter:contract:plugins-public-names-only"


def _facade(name: str) -> ModuleType:
    return importlib.import_module(name)


def _own_doc(obj: object) -> str:
    """The docstring a class or function carries itself (not one inherited from a base)."""
    own = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    return inspect.cleandoc(own) if isinstance(own, str) else ""


@pytest.mark.parametrize("facade", facadedoc.FACADES)
def test_every_public_name_is_documented(facade: str) -> None:
    module = _facade(facade)
    generated = PLUGINS_DOC.read_text(encoding="utf-8")
    documented = {item.name: item for item in facadedoc.public_names(facade)}
    assert list(documented) == list(module.__all__)
    undocumented = []
    for name in module.__all__:
        obj = getattr(module, name)  # AttributeError: a name in __all__ that does not exist
        item = documented[name]
        if inspect.isclass(obj) or inspect.isfunction(obj):
            # classes and functions carry their own docstring, and the generator found it
            if not _own_doc(obj) or item.doc != _own_doc(obj):
                undocumented.append(name)
        elif not item.doc:  # markers, aliases, constants: the `#:` comment
            undocumented.append(name)
        heading = f"#### `{facade}.{name}`\n\n"
        if heading not in generated or f"{heading}*Undocumented.*" in generated:
            undocumented.append(f"{name} (not in {PLUGINS_DOC.name})")
    assert undocumented == [], f"undocumented names of {facade}: {undocumented}"


@pytest.mark.parametrize("facade", facadedoc.FACADES)
def test_the_generated_reference_reads_what_python_imports(facade: str) -> None:
    """The reference is read from source (the engine may not import the facades): each class
    and function it names is the object the facade exports, from the module it says."""
    module = _facade(facade)
    for item in facadedoc.public_names(facade):
        obj = getattr(module, item.name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert item.kind == ("class" if inspect.isclass(obj) else "function"), item.name
            assert obj.__module__ == item.origin, item.name
        else:
            assert item.kind == "value", item.name


@pytest.mark.parametrize("facade", facadedoc.FACADES)
def test_facade_exports_exactly_its_all(facade: str) -> None:
    module = _facade(facade)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public == set(module.__all__)
    assert len(module.__all__) == len(set(module.__all__))


def test_api_loads_no_web_code() -> None:
    """`portalis.api` is engine-level: importing it loads neither Flask nor the runtime."""
    probe = (
        "import sys, portalis.api; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug') "
        "or m.startswith(('portalis.runtime', 'portalis.web'))))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _plugin_files() -> list[Path]:
    return sorted(
        path
        for pattern in ("*/src/**/*.py", "*/tests/**/*.py")
        for path in PLUGINS_DIR.glob(pattern)
    )


def _internal_imports(path: Path) -> list[str]:
    """`file:line module` for each import of a Portalis module outside `ALLOWED`, and of
    Flask's request globals `g` (state belongs to `portalis.web`)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules = [node.module]
            if node.module == "portalis":
                modules = [f"portalis.{alias.name}" for alias in node.names]
            if node.module == "flask" and any(alias.name == "g" for alias in node.names):
                modules.append("flask.g")
        for module in modules:
            internal = module == "portalis" or module.startswith("portalis.")
            allowed = any(module == ok or module.startswith(f"{ok}.") for ok in ALLOWED)
            if (internal and not allowed) or module == "flask.g":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {module}")
    return found


def test_plugins_import_only_the_public_facades() -> None:
    """Source and tests of every plugin under plugins/ (the import-linter contract covers
    the installed packages; this covers their tests too)."""
    files = _plugin_files()
    assert files, "no plugin found under plugins/"
    offending = [hit for path in files for hit in _internal_imports(path)]
    assert offending == []


def _plugin_packages() -> set[str]:
    return {init.parent.name for init in PLUGINS_DIR.glob("*/src/*/__init__.py")}


def _listed(value: str) -> set[str]:
    return {line.strip() for line in value.splitlines() if line.strip()}


def test_import_contract_covers_every_plugin_package() -> None:
    """import-linter cannot match `portalis_*`: a new plugin under plugins/ must be added to
    the root packages and to the contract by hand, and this test says so."""
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    packages = _plugin_packages()
    assert packages
    assert packages <= _listed(config["importlinter"]["root_packages"])
    contract = config[CONTRACT]
    assert packages <= _listed(contract["source_modules"])
    forbidden = _listed(contract["forbidden_modules"])
    assert {"portalis.engine", "portalis.runtime", "portalis.builder"} <= forbidden


def test_docs_state_the_facades_and_their_versioning() -> None:
    generated = PLUGINS_DOC.read_text(encoding="utf-8")
    assert "semantic versioning" in generated
    assert "major version change" in generated and "minor version change" in generated
    guide = GUIDE.read_text(encoding="utf-8")
    rules = guide.split("## Rules", 1)[1]
    assert "`portalis.api`" in rules and "`portalis.web`" in rules
    # the guide's code imports only the facades (and `portalis.testing` in test code)
    imported = [
        line.split()[1]
        for line in guide.splitlines()
        if line.startswith(("from portalis", "import portalis"))
    ]
    assert imported
    assert [m for m in imported if not m.startswith(ALLOWED)] == []


def test_guide_imports_exist() -> None:
    """Every `from portalis… import …` line of the guide names something that exists."""
    missing = []
    for line in GUIDE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("from portalis"):
            continue
        module_name, names = line[len("from ") :].split(" import ", 1)
        module = importlib.import_module(module_name)
        for name in names.split(","):
            original = name.split(" as ")[0].strip()
            if not hasattr(module, original):
                missing.append(f"{module_name}.{original}")
    assert missing == []

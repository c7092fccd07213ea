"""The public plugin system: `portalis plugins`, hook validation at start-up, disabling a
plugin by name and the pytest plugin's served-portal fixtures (used as a plugin author would).

The installed first-party plugin `portalis-ip-allowlist` (entry point `ip_allowlist`) is the
real entry-point plugin here; misspelled plugins are real distributions put on `sys.path`.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
import textwrap
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pluggy
import pytest
from click.testing import CliRunner, Result
from portalis_ip_allowlist import IpAllowlistGuard

from portalis.engine.plugins import hookimpl
from portalis.runtime import default_plugins
from portalis.runtime.cli.plugins import register_plugin_commands
from portalis.testing.databases import postgres_available
from portalis.testing.portal_fixtures import LoginAs, serve_definition
from portalis.testing.portals import b2c_with
from portalis.testing.web import WebPortal, app_state

pytest_plugins = ["pytester"]

OUTSIDE = "203.0.113.9"
DEFAULTS = {
    "portalis.engine.definition.fieldtypes": "portalis_field_types",
    "portalis.runtime.blocks.builtin": "portalis_block_types",
    "portalis.runtime.auth.password_plugin": "portalis_auth_provider_types",
}


def run_plugins(*args: str, env: dict[str, str] | None = None) -> Result:
    """`portalis plugins ARGS` on a throwaway group (the command as registered in the CLI)."""
    group = click.Group()
    register_plugin_commands(group)
    return CliRunner().invoke(
        group, ["plugins", *args], env={"PORTALIS_DISABLED_PLUGINS": ""} | (env or {})
    )


def listed(result: Result) -> dict[str, dict[str, Any]]:
    """The `--json` listing by plugin name."""
    assert result.exit_code == 0, result.output
    return {info["name"]: info for info in json.loads(result.stdout)["plugins"]}


def install_distribution(monkeypatch: pytest.MonkeyPatch, root: Path, name: str, code: str) -> str:
    """A real installed distribution `name` 0.3.1 whose module `name` is the entry point
    `name` of `portalis.plugins` (a dist-info folder on `sys.path`); returns the module name."""
    module = name.replace("-", "_")
    (root / f"{module}.py").write_text(textwrap.dedent(code), "utf-8")
    info = root / f"{module}-0.3.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.3.1\n")
    (info / "entry_points.txt").write_text(f"[portalis.plugins]\n{module} = {module}\n")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delitem(sys.modules, module, raising=False)
    return module


# --- portalis plugins ---------------------------------------------------------------------


def test_plugins_lists_defaults_and_entry_points_with_hooks_and_versions() -> None:
    plugins = listed(run_plugins("--json"))
    portalis_version = importlib.metadata.version("portalis")
    for name, hook in DEFAULTS.items():
        assert plugins[name]["source"] == "default"
        assert (plugins[name]["distribution"], plugins[name]["version"]) == (
            "portalis",
            portalis_version,
        )
        assert hook in plugins[name]["hooks"] and not plugins[name]["disabled"]
    allowlist = plugins["ip_allowlist"]
    assert allowlist == {
        "name": "ip_allowlist",
        "source": "entry point",
        "module": "portalis_ip_allowlist",
        "distribution": "portalis-ip-allowlist",
        "version": importlib.metadata.version("portalis-ip-allowlist"),
        "hooks": ["portalis_definition_sections", "portalis_request_guards"],
        "disabled": False,
        "sections": ["auth ip_allowlist"],
    }
    # registration order: engine defaults, entry points, then the runtime's defaults
    names = list(plugins)
    assert names[0] == "portalis.engine.definition.fieldtypes"
    assert names.index("ip_allowlist") < names.index("portalis.runtime.blocks.builtin")

    text = run_plugins()
    assert text.exit_code == 0
    assert "ip_allowlist  [entry point]  portalis-ip-allowlist" in text.output
    assert "hooks: portalis_definition_sections, portalis_request_guards" in text.output
    assert "    sections: auth ip_allowlist\n" in text.output
    core = (
        "block list, block detail, block form, block markdown, block search_box, block metrics, "
        "block attachments, block search, block calendar, block feedback, block related, "
        "block payments, "
        "provider password"
    )
    assert f"    sections: {core}\n" in text.output
    assert "DISABLED" not in text.output


def test_plugins_shows_a_plugin_disabled_by_name_and_warns_about_unknown_names() -> None:
    result = run_plugins("--json", env={"PORTALIS_DISABLED_PLUGINS": "ip_allowlist, nosuch"})
    plugins = listed(result)
    assert plugins["ip_allowlist"]["disabled"] is True
    assert plugins["ip_allowlist"]["hooks"] == []  # a disabled plugin is not even imported
    assert plugins["ip_allowlist"]["distribution"] == "portalis-ip-allowlist"
    assert json.loads(result.stdout)["unknown_disabled"] == ["nosuch"]
    assert "names no installed plugin: nosuch" in result.stderr

    text = run_plugins(env={"PORTALIS_DISABLED_PLUGINS": "ip_allowlist"}).output
    assert "ip_allowlist  [entry point]  portalis-ip-allowlist" in text
    assert "DISABLED (PORTALIS_DISABLED_PLUGINS)" in text and "hooks: not loaded" in text
    assert "1 disabled" in text


def test_plugins_disables_a_default_plugin_by_module_name() -> None:
    env = {"PORTALIS_DISABLED_PLUGINS": "portalis.runtime.blocks.builtin"}
    plugins = listed(run_plugins("--json", env=env))
    assert plugins["portalis.runtime.blocks.builtin"]["disabled"] is True
    assert plugins["portalis.runtime.blocks.builtin"]["hooks"] == []
    assert plugins["portalis.engine.definition.fieldtypes"]["disabled"] is False


# --- misspelled hook implementations are rejected at start ----------------------------------


def plugin_module(name: str, **hooks: Callable[..., Any]) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, func in hooks.items():
        setattr(module, hook_name, hookimpl(func))
    return module


def test_misspelled_hook_name_is_rejected_when_the_manager_is_built() -> None:
    def portalis_feld_types() -> list[object]:
        return []

    typo = plugin_module("acme_typo", portalis_feld_types=portalis_feld_types)
    with pytest.raises(pluggy.PluginValidationError) as exc:
        default_plugins.plugin_manager(extra=[typo], load_entrypoints=False)
    assert "portalis_feld_types" in str(exc.value) and exc.value.plugin is typo


def test_unknown_hook_argument_is_rejected_when_the_manager_is_built() -> None:
    def portalis_validate(raw: object, modle: object) -> list[object]:
        return []

    typo = plugin_module("acme_args", portalis_validate=portalis_validate)
    with pytest.raises(pluggy.PluginValidationError) as exc:
        default_plugins.plugin_manager(extra=[typo], load_entrypoints=False)
    message = str(exc.value)
    assert "portalis_validate" in message and "modle" in message


def test_plugins_reports_an_installed_misspelled_plugin_cleanly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = install_distribution(
        monkeypatch,
        tmp_path,
        "acme-typo",
        """
        from portalis.engine.plugins import hookimpl

        @hookimpl
        def portalis_feld_types():
            return []
        """,
    )
    result = run_plugins()
    assert result.exit_code == 1
    assert f"plugin {module!r} is invalid" in result.stderr
    assert "portalis_feld_types" in result.stderr
    assert f"PORTALIS_DISABLED_PLUGINS={module}" in result.stderr
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a crash

    # the hint works: disabled, it is listed with its distribution and the rest loads
    plugins = listed(run_plugins("--json", env={"PORTALIS_DISABLED_PLUGINS": module}))
    assert plugins[module]["disabled"] is True
    assert (plugins[module]["distribution"], plugins[module]["version"]) == ("acme-typo", "0.3.1")
    assert plugins["ip_allowlist"]["hooks"] == [
        "portalis_definition_sections",
        "portalis_request_guards",
    ]


def test_plugins_reports_an_unknown_argument_of_an_installed_plugin(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    install_distribution(
        monkeypatch,
        tmp_path,
        "acme-args",
        """
        from portalis.engine.plugins import hookimpl

        @hookimpl
        def portalis_request_guards(app):
            return []
        """,
    )
    result = run_plugins()
    assert result.exit_code == 1
    assert "portalis_request_guards" in result.stderr and "app" in result.stderr
    assert "Traceback" not in result.output


def test_plugins_reports_a_plugin_that_cannot_be_imported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    install_distribution(monkeypatch, tmp_path, "acme-broken", "import acme_not_installed\n")
    result = run_plugins()
    assert result.exit_code == 1
    assert "could not be imported" in result.stderr and "acme_not_installed" in result.stderr
    assert "Traceback" not in result.output


# --- disabling by name keeps the plugin out of the app --------------------------------------


def restricted_b2c(tmp_path: Path) -> Path:
    """The b2c blueprint allowing only 192.0.2.0/24 (`auth.ip_allowlist.portal`)."""
    allowlist = '  ip_allowlist: {portal: ["192.0.2.0/24"]}\n'
    return b2c_with(tmp_path / "restricted", auth=allowlist)


@pytest.mark.parametrize("disabled", [False, True], ids=["enabled", "disabled"])
def test_disabled_by_name_keeps_the_guard_out_of_the_app(
    database_url: str, tmp_path: Path, disabled: bool
) -> None:
    env = {"PORTALIS_DISABLED_PLUGINS": "ip_allowlist"} if disabled else {}
    web = serve_definition(database_url, tmp_path / "instance", restricted_b2c(tmp_path), env=env)
    try:
        st = app_state(web.app)
        guards = [g for g in st.guards if isinstance(g, IpAllowlistGuard)]
        assert (st.pm.get_plugin("ip_allowlist") is None) is disabled
        assert len(guards) == (0 if disabled else 1)
        outside = web.client().get("/login", environ_base={"REMOTE_ADDR": OUTSIDE})
        # without the plugin nothing would enforce the definition's allow-list, so the portal
        # is not served at all (fail closed) and the registry names the version that failed
        assert outside.status_code == (404 if disabled else 403)
        assert (web.slug in st.registry.failed) is disabled
    finally:
        web.close()


# --- the pytest plugin's fixtures, used as a plugin author would ----------------------------


def test_served_portal_fixtures(
    portalis_portal: WebPortal, portalis_app: Any, login_as: LoginAs
) -> None:
    assert portalis_app is portalis_portal.app
    assert portalis_portal.slug == "acme-support"  # the b2c blueprint by default
    st = app_state(portalis_app)
    assert st.pm.get_plugin("ip_allowlist") is not None  # installed plugins are loaded
    ben = login_as("ben@acme.test")
    page = ben.get("/profile")
    assert page.status_code == 200
    assert "ben@acme.test" in page.get_data(as_text=True)
    assert portalis_portal.client().get("/profile").status_code in (302, 303)  # not signed in


def test_pytest_plugin_is_loaded_from_its_entry_point(pytester: pytest.Pytester) -> None:
    """A plugin author's test file, run with no conftest and no `-p`: the fixtures come from
    the `pytest11` entry point of the installed `portalis` distribution."""
    pytester.makepyfile(
        test_author="""
        import shutil

        import pytest

        from portalis.testing.portals import BLUEPRINTS, b2c_with


        @pytest.fixture
        def portalis_definition_dir(tmp_path):
            folder = tmp_path / "mine"
            shutil.copytree(BLUEPRINTS / "b2c", folder)
            return folder


        def test_signed_in(request, portalis_portal, portalis_definition_dir, login_as):
            assert request.config.pluginmanager.get_plugin("portalis") is not None
            assert portalis_portal.compiled.bundle is not None
            anna = login_as("anna@acme.test")
            assert anna.get("/profile").status_code == 200
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    if postgres_available() is None:
        result.assert_outcomes(passed=2)
    else:
        result.assert_outcomes(passed=1, skipped=1)

"""`portalis plugins`: the plugins a portal server would load, and which are disabled.

The plugin manager is built exactly as `create_app` builds it — the engine's default plugins,
every entry point of the group `portalis.plugins`, then the runtime's default plugins — with
`PORTALIS_DISABLED_PLUGINS` honoured, so a misspelled hook implementation or a plugin that
cannot be imported fails here the way it would fail the server's start (exit 1, one message,
no traceback). Disabled entry points are not imported: their hooks are unknown.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass

import click
import pluggy

DISABLED_VARIABLE = "PORTALIS_DISABLED_PLUGINS"


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """One plugin as the server would see it."""

    name: str  #: the name to use in PORTALIS_DISABLED_PLUGINS
    source: str  #: "default" (built in) or "entry point"
    module: str  #: the module (or entry-point target) that implements the hooks
    distribution: str | None  #: the installed distribution that provides it
    version: str | None
    hooks: tuple[str, ...]  #: the hooks it implements (empty when disabled: not imported)
    disabled: bool
    #: the definition sections it provides, as `<place> <name>` (`auth two_factor`)
    sections: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PluginInventory:
    """Every plugin in registration order, and disabled names that match no plugin."""

    plugins: tuple[PluginInfo, ...]
    unknown_disabled: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        """The inventory as JSON-ready data (the `--json` output)."""
        return {
            "plugins": [
                asdict(info) | {"hooks": list(info.hooks), "sections": list(info.sections)}
                for info in self.plugins
            ],
            "unknown_disabled": list(self.unknown_disabled),
        }


def disabled_names(env: Mapping[str, str]) -> tuple[str, ...]:
    """The comma-separated names of PORTALIS_DISABLED_PLUGINS (blanks ignored)."""
    return tuple(p.strip() for p in env.get(DISABLED_VARIABLE, "").split(",") if p.strip())


def _portalis_version() -> str | None:
    try:
        return importlib.metadata.version("portalis")
    except importlib.metadata.PackageNotFoundError:
        return None


def _entry_points() -> Iterator[tuple[importlib.metadata.EntryPoint, str, str]]:
    """(entry point, distribution, version) of the group, in the order pluggy loads them."""
    from portalis.engine.plugins import ENTRY_POINT_GROUP

    seen: set[str] = set()
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            # pluggy registers the first entry point of a name and skips later ones
            if ep.group == ENTRY_POINT_GROUP and ep.name not in seen:
                seen.add(ep.name)
                yield ep, dist.metadata["name"], dist.version


def _hooks(pm: pluggy.PluginManager, plugin: object | None) -> tuple[str, ...]:
    if plugin is None:
        return ()
    return tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()))


def _sections(pm: pluggy.PluginManager, plugin: object | None) -> tuple[str, ...]:
    """The definition sections `plugin` provides (its own answer to the hook)."""
    if plugin is None:
        return ()
    found: list[str] = []
    for impl in pm.hook.portalis_definition_sections.get_hookimpls():
        if impl.plugin is plugin:
            result = impl.function()
            sections = result if isinstance(result, list) else []
            found.extend(f"{s.place} {s.name}" for s in sections)
    return tuple(found)


def inventory(pm: pluggy.PluginManager, disabled: Iterable[str]) -> PluginInventory:
    """Describe what `pm` (built with `disabled`) loaded and what it left out."""
    from portalis.engine import plugins as engine_plugins

    from .. import default_plugins

    blocked = set(disabled)
    distinfo = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    version = _portalis_version()

    def default(plugin: object) -> PluginInfo:
        # default plugins are modules; registered (and blocked) under their module name
        name = str(getattr(plugin, "__name__", plugin))
        loaded = pm.get_plugin(name)
        return PluginInfo(
            name, "default", name, "portalis", version, _hooks(pm, loaded), name in blocked,
            _sections(pm, loaded),
        )  # fmt: skip

    rows = [default(plugin) for plugin in engine_plugins.default_plugins()]
    for ep, dist_name, dist_version in _entry_points():
        plugin = pm.get_plugin(ep.name)
        dist = distinfo.get(id(plugin)) if plugin is not None else None
        rows.append(
            PluginInfo(
                ep.name,
                "entry point",
                ep.value,
                dist.project_name if dist is not None else dist_name,
                dist.version if dist is not None else dist_version,
                _hooks(pm, plugin),
                ep.name in blocked,
                _sections(pm, plugin),
            )
        )
    rows += [default(plugin) for plugin in default_plugins.plugins()]
    known = {row.name for row in rows}
    return PluginInventory(tuple(rows), tuple(sorted(blocked - known)))


def _plugin_name(plugin: object) -> str:
    """The entry-point name of a plugin module when it has one (for the hint)."""
    module = getattr(plugin, "__name__", None)
    for ep, _, _ in _entry_points():
        if ep.value == module:
            return ep.name
    return str(module or plugin)


def load_inventory(env: Mapping[str, str]) -> PluginInventory:
    """Build the server's plugin manager for `env` and describe it.

    Raises `click.ClickException` (exit 1, no traceback) when a plugin cannot be imported or
    implements a hook that does not exist or takes arguments the hook does not have.
    """
    from .. import default_plugins

    disabled = disabled_names(env)
    try:
        pm = default_plugins.plugin_manager(disabled=disabled)
    except pluggy.PluginValidationError as exc:
        name = _plugin_name(exc.plugin)
        raise click.ClickException(
            f"plugin {name!r} is invalid: {exc}\n"
            f"fix the hook implementation (see docs/plugins.md) or start without it: "
            f"{DISABLED_VARIABLE}={name}"
        ) from None
    except ImportError as exc:
        raise click.ClickException(f"a plugin could not be imported: {exc}") from None
    return inventory(pm, disabled)


def format_inventory(found: PluginInventory) -> list[str]:
    """The human-readable listing: one block per plugin, then a summary."""
    lines: list[str] = []
    for info in found.plugins:
        dist = f"{info.distribution} {info.version or '?'}" if info.distribution else "?"
        state = f"  DISABLED ({DISABLED_VARIABLE})" if info.disabled else ""
        lines.append(f"{info.name}  [{info.source}]  {dist}{state}")
        if info.module != info.name:
            lines.append(f"    module: {info.module}")
        hooks = ", ".join(info.hooks) if info.hooks else "-"
        lines.append(f"    hooks: {'not loaded' if info.disabled else hooks}")
        if info.sections:
            lines.append(f"    sections: {', '.join(info.sections)}")
    disabled = sum(info.disabled for info in found.plugins)
    lines.append(f"{len(found.plugins)} plugin(s), {disabled} disabled")
    return lines


def _warn_unknown(names: Sequence[str]) -> None:
    if names:
        # a typo here would otherwise silently disable nothing
        listed = ", ".join(names)
        click.echo(f"warning: {DISABLED_VARIABLE} names no installed plugin: {listed}", err=True)


def register_plugin_commands(cli: click.Group) -> None:
    """Add `plugins` (the installed plugins) to the CLI group."""

    @cli.command(name="plugins")
    @click.option("--json", "as_json", is_flag=True, help="Print the list as one JSON object.")
    def plugins_command(as_json: bool) -> None:
        """List the plugins a portal server would load, their hooks and which are disabled.

        Exit 1 when a plugin cannot be loaded (a misspelled hook, an unknown hook argument,
        an import error), as the server's start would fail.
        """
        found = load_inventory(os.environ)
        _warn_unknown(found.unknown_disabled)
        if as_json:
            click.echo(json.dumps(found.to_json(), ensure_ascii=False, indent=2))
        else:
            for line in format_inventory(found):
                click.echo(line)

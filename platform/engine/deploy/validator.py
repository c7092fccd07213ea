"""Validator: schema pass → semantic passes → compile → plugin pass, as one `Report`.

A `Checker` holds what is worth building once per plugin manager (field-type registry,
composed schema, JSON Schema validator, expression functions) and checks any number of
definitions, drafts included. No input produces a traceback: unexpected failures of a pass
become problems.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pluggy

from ..definition.builtins import merged_entities
from ..definition.bundle import ROOT_NAMES, Bundle, read_bundle
from ..definition.compiler import compile_model
from ..definition.loader import RawPortal, load
from ..definition.lookups import check_lookups
from ..definition.model import PortalModel
from ..definition.schema.check import field_problems, make_validator, schema_problems
from ..definition.schema.compose import build_schema, split_field_schemas
from ..definition.semantics.attachments import check_attachments
from ..definition.semantics.auth import check_auth
from ..definition.semantics.base import Ctx
from ..definition.semantics.bulk import check_bulk
from ..definition.semantics.copying import check_copies
from ..definition.semantics.derived import check_derived_fields
from ..definition.semantics.entities import check_entities
from ..definition.semantics.exposure import check_computed_exposure, check_related_exposure
from ..definition.semantics.flow import check_flow
from ..definition.semantics.lint import lint
from ..definition.semantics.pages import (
    check_navigation,
    check_pages,
    check_seed_globs,
    check_theme_and_locales,
    check_translations,
)
from ..definition.semantics.payable import check_payable, check_payable_model
from ..definition.semantics.printouts import check_printouts
from ..definition.semantics.reporting import check_reporting
from ..definition.semantics.roles import check_roles
from ..definition.semantics.search import check_search_blocks
from ..definition.semantics.sections import check_sections
from ..definition.semantics.workflows import check_workflows
from ..plugins import definition_sections, expression_functions, field_types
from ..problems import DefinitionError, Problem, Report
from .seed_check import check_seed, check_seed_files
from .sql_checks import check_sql_fields


@dataclass(frozen=True, slots=True)
class Checked:
    """The outcome of checking a definition: the model (None when invalid) and problems."""

    raw: RawPortal
    model: PortalModel | None
    report: Report

    def unwrap(self) -> PortalModel:
        """The model, or DefinitionError with the errors."""
        if self.model is None or not self.report.ok:
            raise DefinitionError(self.report.errors or [Problem("schema-invalid", "invalid")])
        return self.model


class Checker:
    """Checks and compiles definitions for one plugin manager."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.registry = field_types(pm)
        self.functions = expression_functions(pm)
        #: the loaded definition sections (blocks, provider types, plugin-owned `auth:` keys)
        self.sections = definition_sections(pm)
        self.schema = build_schema(self.registry, self.sections)
        fast, per_type = split_field_schemas(self.schema)
        self._validator = make_validator(fast)
        self._field_validators = {name: make_validator(s) for name, s in per_type.items()}

    def check_dir(
        self, directory: str | os.PathLike[str], env: Mapping[str, str] | None = None
    ) -> Checked:
        """Read, load and check a definition folder."""
        bundle, problems = read_bundle(directory)
        unreadable_root = any(p.file in ROOT_NAMES for p in problems)
        if not Path(directory).is_dir() or unreadable_root:
            # the folder or its portal.yaml could not be read: that is the one problem
            return Checked(load(Bundle.of({}), env)[0], None, Report(problems))
        checked = self.check_bundle(bundle, env)
        checked.report.problems[:0] = problems
        return checked

    def check_bundle(
        self, bundle: Bundle, env: Mapping[str, str] | None = None, *, seeds: bool = True
    ) -> Checked:
        """Load and check a bundle. `env` substitutes `${NAME}` (None: leave references).

        `seeds=False` skips running the seed rows through the model (a stored version being
        loaded to serve: its seed data was checked when it was deployed).
        """
        raw, report = load(bundle, env)
        if not report.ok:
            return Checked(raw, None, report)
        model = self.check(raw, report, seeds=seeds)
        return Checked(raw, model, report)

    def check(self, raw: RawPortal, report: Report, *, seeds: bool = True) -> PortalModel | None:
        """Check loaded data, adding problems to `report`; the model when valid."""
        try:
            report.extend(schema_problems(self._validator, raw.data, raw.source))
            report.extend(field_problems(self._field_validators, raw.data, raw.source))
        except RecursionError:
            report.add(raw.source.problem("yaml-too-deep", "the definition nests too deeply", ()))
        if not report.ok:
            return None
        ctx = Ctx(
            data=raw.data,
            entities=merged_entities(raw.data.get("entities") or {}),
            source=raw.source,
            registry=self.registry,
            bundle=raw.bundle,
            sections=self.sections,
        )
        model: PortalModel | None = None
        for check in (
            check_roles,
            check_entities,
            check_workflows,
            check_derived_fields,
            check_flow,
            check_copies,
            check_attachments,
            check_payable,
            check_printouts,
            check_lookups,
            check_pages,
            check_search_blocks,
            check_sections,
            check_bulk,
            check_reporting,
            check_navigation,
            check_auth,
            check_theme_and_locales,
            check_seed_globs,
            check_seed_files,
            check_translations,
        ):
            check(ctx)
        if not any(p.severity.value == "error" for p in ctx.problems):
            model = compile_model(ctx, self.functions, raw.bundle.sha256)
        if model is not None:
            check_sql_fields(ctx, model)
            check_computed_exposure(ctx, model)
            check_related_exposure(ctx, model)
            if any(p.severity.value == "error" for p in ctx.problems):
                model = None
        if model is not None:
            lint(ctx, model)
            check_payable_model(ctx, model)
        if model is not None and model.seed and seeds:
            # what `deploy --seed` checks on an empty database, short of writing rows
            ctx.problems.extend(check_seed(model, raw.bundle))
        report.extend(ctx.problems)
        report.extend(self._plugin_problems(raw, model))
        return model if report.ok else None

    def _plugin_problems(self, raw: RawPortal, model: PortalModel | None) -> list[Problem]:
        problems: list[Problem] = []
        for impl in self.pm.hook.portalis_validate.get_hookimpls():
            try:
                given = {"raw": raw, "model": model}
                # pluggy lets implementations take a subset of the hook's arguments
                result = impl.function(**{name: given[name] for name in impl.argnames})
            except Exception as exc:  # a failing plugin check must fail closed, not crash
                problems.append(
                    raw.source.problem(
                        "plugin-error",
                        f"plugin {impl.plugin_name} failed: {exc.__class__.__name__}: {exc}",
                        (),
                    )
                )
                continue
            if isinstance(result, list | tuple):
                problems.extend(p for p in result if isinstance(p, Problem))
        return problems

"""Compiler: schema- and semantics-checked raw data → frozen `PortalModel`.

Expressions are compiled here, once; field defaults are cleaned by their types. Problems found
while compiling (bad expressions, invalid defaults) are added to the pass's problem list and
the model is then not returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from ..expr.expressions import DEFAULT_NAMES, Expression, ExpressionError, compile_expression
from ..expr.typecheck import type_errors
from ..problems import JsonPath
from .attachment_spec import compile_attachments
from .compiler_access import compile_auth, compile_grant, compile_roles
from .compiler_flow import FlowCompiler, humanize
from .exchange_rates import compile_exchange_rates
from .fields import FieldValueError
from .flow_model import Workflow
from .full_text import entity_search
from .lookups import compile_lookups
from .model import (
    SYSTEM_COLUMNS,
    Block,
    Entity,
    Field,
    LiveUpdates,
    Page,
    PortalModel,
    Rule,
    Theme,
)
from .naming import table_name
from .payable_spec import compile_payable, compile_payment_providers, entry_name
from .printout_spec import Printout, compile_printout
from .related_reads import RelatedReads, entity_reads
from .semantics.base import Ctx, account_field, tree_parent
from .values import Label, frozen_map

Functions = Mapping[str, Callable[..., Any]]


class _Compiler:
    def __init__(self, ctx: Ctx, functions: Functions) -> None:
        self.ctx = ctx
        self.functions = functions
        self.currency = str(ctx.data.get("currency") or "EUR")
        self.related = RelatedReads(ctx)
        self.flow = FlowCompiler(ctx, self.expression)
        providers = (ctx.data.get("payments") or {}).get("providers") or ()
        self.payment_entries = [entry_name(p) for p in providers]

    def expression(
        self,
        source: str | None,
        path: JsonPath,
        entity: str | None,
        names: Iterable[str] = DEFAULT_NAMES,
    ) -> Expression | None:
        if source is None:
            return None
        try:
            expr = compile_expression(source, functions=self.functions, names=names)
        except ExpressionError as exc:
            self._add_located(exc, source, path)
            return None
        pos = self.ctx.source.locate(path)
        expr = replace(expr, origin=f"{pos.file}:{pos.line}:{pos.col}")  # for runtime errors
        if entity is not None:
            known = set(self.ctx.fields_of(entity)) | set(SYSTEM_COLUMNS)
            fields: dict[str, Mapping[str, Any]] = {
                n: f for n, f in self.ctx.fields_of(entity).items() if isinstance(f, dict)
            }
            for key in sorted(expr.record_keys - known):
                if "." in key or self.related.is_lookup(entity, key):
                    read = self.related.field(entity, key, path)
                    if read is not None:
                        fields[key] = read
                    continue
                self.ctx.add(
                    "ref-unknown-field",
                    f"expression reads record[{key!r}], which {entity} does not have",
                    path,
                )
            types = {n: str(f.get("type")) for n, f in fields.items()}
            currencies = {n: self._fixed_currency(f) for n, f in fields.items()}
            computed = len(path) >= 3 and path[-1] == "compute" and path[-3] == "fields"
            target = types.get(str(path[-2])) if computed else None
            # arithmetic on money with numbers, EUR with USD, money computed into a decimal …
            for wrong in type_errors(source, types, currencies=currencies, target=target):
                self._add_located(wrong, source, path)
        return expr

    def _fixed_currency(self, field: Mapping[str, Any]) -> str:
        """The one currency a money field's values have, or "" when it may have several."""
        allowed = field.get("currencies")
        if isinstance(allowed, list):
            return str(allowed[0]) if len(allowed) == 1 else ""
        code = field.get("currency", self.currency)
        return code if isinstance(code, str) else ""

    def _add_located(self, exc: ExpressionError, source: str, path: JsonPath) -> None:
        add_located(self.ctx, exc, source, path)

    # -- entities ---------------------------------------------------------------------
    def entity(self, name: str, spec: dict[str, Any]) -> Entity:
        base: JsonPath = ("entities", name)
        fields: dict[str, Field] = {}
        for fname, fspec in (spec.get("fields") or {}).items():
            compiled = self.field(name, fname, fspec, (*base, "fields", fname))
            if compiled is not None:
                fields[fname] = compiled
        builtin_grants = spec.get("__builtin_permissions__") or []
        grants = [
            compile_grant(self.ctx, self.expression, name, i, g)
            for i, g in enumerate([*builtin_grants, *(spec.get("permissions") or [])])
        ]
        rules = []
        for i, rule in enumerate(spec.get("rules") or []):
            check = self.expression(rule["check"], (*base, "rules", i, "check"), name)
            if check is not None:
                rules.append(Rule(i, check, Label.of(rule["message"])))
        lookups = compile_lookups(spec.get("lookups"))
        search, full_text = entity_search(spec.get("search"), fields, self.ctx.data["locales"])
        return Entity(
            name=name,
            label=Label.of(spec.get("label"), humanize(name)),
            plural_label=Label.of(
                spec.get("plural_label") or spec.get("label"), humanize(name) + "s"
            ),
            fields=frozen_map(fields),
            grants=tuple(grants),
            rules=tuple(rules),
            title_field=spec.get("title_field"),
            account_field=account_field(self.ctx, name),
            parent_field=tree_parent(self.ctx) if name == "account" else None,
            builtin=bool(spec.get("__builtin__")),
            table_name=table_name(str(self.ctx.data["portal"]), name),
            search_fields=search,
            full_text=full_text,
            icon=spec.get("icon"),
            indexes=tuple(tuple(index) for index in spec.get("indexes") or ()),
            reads=entity_reads(fields, rules, lookups),
            copy=self.flow.copy_spec(name, spec.get("copy")),
            lookups=frozen_map(lookups),
            attachments=compile_attachments(spec.get("attachments")),
            printouts=frozen_map(self.printouts(name, spec.get("printouts"))),
            payable=compile_payable(spec.get("payable"), self.payment_entries),
        )

    def printouts(self, entity: str, raw: Mapping[str, Any] | None) -> dict[str, Printout]:
        out: dict[str, Printout] = {}
        for name, spec in (raw or {}).items():
            path: JsonPath = ("entities", entity, "printouts", name, "when")
            when = self.expression(spec.get("when"), path, entity)
            out[name] = compile_printout(name, spec, when, humanize(name))
        return out

    def field(self, entity: str, name: str, spec: dict[str, Any], path: JsonPath) -> Field | None:
        kind = self.ctx.registry.get(str(spec["type"]))
        if kind is None:
            return None
        options = {k: v for k, v in spec.items() if k in kind.options_schema}
        config = kind.make_config(options, currency=self.currency)
        field = Field(
            name=name,
            type=kind.name,
            label=Label.of(spec.get("label"), humanize(name)),
            kind=kind,
            config=config,
            required=bool(spec.get("required", False)),
            help=Label.of(spec["help"]) if "help" in spec else None,
            readonly=bool(spec.get("readonly", False)),
            unique=bool(spec.get("unique", False)) or kind.assigned,
            indexed=bool(spec.get("indexed", False)),
            renamed_from=spec.get("renamed_from"),
            visible_when=self.expression(spec.get("visible_when"), (*path, "visible_when"), entity),
            required_when=self.expression(
                spec.get("required_when"), (*path, "required_when"), entity
            ),
            compute=self.expression(spec.get("compute"), (*path, "compute"), entity),
            builtin=name in (self.ctx.entities[entity].get("__builtin_fields__") or ()),
            stored=spec.get("stored", True) is True,
            sql=spec.get("stored") == "sql",
            rollup=self.flow.rollup(spec),
        )
        default = spec.get("default")
        if isinstance(default, dict) and set(default) == {"expr"}:
            expr = self.expression(str(default["expr"]), (*path, "default", "expr"), entity)
            return replace(field, default_expr=expr)
        if default is not None:
            try:
                default = kind.clean(field, spec["default"])
            except FieldValueError as exc:
                self.ctx.add(
                    "field-default",
                    f"default is not a valid {kind.name}: {exc}",
                    (*path, "default"),
                )
                return field
            field = replace(field, default=default)
        return field

    # -- workflows ----------------------------------------------------------------------
    def workflow(self, name: str, spec: dict[str, Any]) -> Workflow:
        entity = spec["entity"]
        options = self.ctx.fields_of(entity)[spec["field"]].get("options") or []
        states = tuple(o if isinstance(o, str) else str(o["value"]) for o in options)
        transitions = {
            tr["name"]: self.flow.transition(name, i, tr, entity)
            for i, tr in enumerate(spec["transitions"])
        }
        return Workflow(
            name,
            entity,
            spec["field"],
            spec["initial"],
            states,
            frozen_map(transitions),
            self.flow.timers(name, spec, entity),
        )

    # -- pages --------------------------------------------------------------------------
    def page(self, name: str, spec: dict[str, Any]) -> Page:
        roles = frozenset(spec.get("roles") or ["authenticated"])
        blocks = []
        for i, block in enumerate(spec.get("blocks") or []):
            kind, options = next(iter(block.items()))
            blocks.append(Block(kind, i, self.block(kind, options)))
        return Page(
            name=name,
            route=spec["route"],
            title=Label.of(spec.get("title"), humanize(name)),
            roles=roles,
            blocks=tuple(blocks),
            public="anonymous" in roles,
        )

    def block(self, kind: str, options: Any) -> object:
        """The block's config, made by its definition section (validation found one)."""
        section = self.ctx.sections.get("block", kind)
        if section is None:  # unreachable after the schema pass; kept as a clear failure
            raise LookupError(f"no definition section for block type {kind!r}")
        return section.compiled(options)

    # -- portal -------------------------------------------------------------------------
    def portal(self, sha256: str) -> PortalModel:
        data = self.ctx.data
        theme = data.get("theme") or {}
        return PortalModel(
            slug=data["portal"],
            title=Label.of(data["title"]),
            locales=tuple(data["locales"]),
            currency=self.currency,
            roles=frozen_map(compile_roles(self.ctx.data.get("roles") or {})),
            entities=frozen_map({n: self.entity(n, s) for n, s in self.ctx.entities.items()}),
            workflows=frozen_map(
                {n: self.workflow(n, s) for n, s in (data.get("workflows") or {}).items()}
            ),
            pages=frozen_map({n: self.page(n, s) for n, s in (data.get("pages") or {}).items()}),
            navigation=tuple(data.get("navigation") or ()),
            theme=Theme(**{k: v for k, v in theme.items()}),
            auth=compile_auth(self.ctx),
            seed=tuple(data.get("seed") or ()),
            domains=tuple(data.get("domains") or ()),
            embed_origins=tuple((data.get("embed") or {}).get("allowed_origins") or ()),
            description=Label.of(data["description"]) if "description" in data else None,
            sha256=sha256,
            automations=frozen_map(self.flow.automations()),
            notifications=frozen_map(self.flow.notifications()),
            exchange_rates=compile_exchange_rates(data.get("exchange_rates"), self.currency),
            live_updates=LiveUpdates(**data["live_updates"]) if "live_updates" in data else None,
            payment_providers=compile_payment_providers(data, self.ctx.sections),
        )


def compile_model(ctx: Ctx, functions: Functions, sha256: str) -> PortalModel | None:
    """Compile checked raw data; returns None (problems added to ctx) when compiling fails."""
    before = len([p for p in ctx.problems if p.severity.value == "error"])
    model = _Compiler(ctx, functions).portal(sha256)
    after = len([p for p in ctx.problems if p.severity.value == "error"])
    return model if after == before else None


def add_located(ctx: Ctx, exc: ExpressionError, source: str, path: JsonPath) -> None:
    """Add the problem `exc` in the expression `source` at `path`, located at the offending
    character of the definition file."""
    problem = ctx.source.problem(exc.code, str(exc), path, exc.hint)
    where = _position_in_file(ctx, problem.file, problem.line, source, exc)
    if where is not None:
        problem = replace(problem, line=where[0], col=where[1])
    ctx.problems.append(problem)


def _position_in_file(
    ctx: Ctx, file: str, line: int, source: str, exc: ExpressionError
) -> tuple[int, int] | None:
    """Line and column of the offending character in the definition file.

    The source map points at the scalar node (an opening quote, or a `>-`/`|` block
    indicator), so the expression's own line is searched for in the file text.
    """
    text = ctx.bundle.files.get(file)
    lines = source.splitlines()
    if text is None or not exc.col or not 1 <= getattr(exc, "line", 1) <= len(lines):
        return None
    target = lines[getattr(exc, "line", 1) - 1]
    chunk = target.strip()[:40]
    if not chunk:
        return None
    indent = len(target) - len(target.lstrip())
    file_lines = text.splitlines()
    for index in range(max(line - 1, 0), min(len(file_lines), line + 200)):
        found = file_lines[index].find(chunk)
        if found >= 0:
            return index + 1, found + 1 + max(exc.col - 1 - indent, 0)
    return None

"""Semantic checks of what leaves the portal: notification templates, webhook URLs and the
cron schedules of automations.

Notifications are checked after every action was seen, since whether a template is used, and
which entity's record it renders, is only known from the actions that send it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, Final
from urllib.parse import urlsplit

from croniter import CroniterBadDateError, croniter
from jinja2 import Environment, TemplateSyntaxError, nodes

from ...problems import JsonPath, Severity
from ..model import SYSTEM_COLUMNS, Field
from ..values import Label
from .base import Ctx, suggest

#: The five fields of a cron expression with the values each accepts.
CRON_FIELDS: Final = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day of month", "1-31"),
    ("month", "1-12 or jan-dec"),
    ("day of week", "0-6 or sun-sat, 0 = Sunday"),
)
CRON_HINT: Final = (
    "five fields: minute hour day-of-month month day-of-week (UTC), "
    "e.g. '0 8 * * 1' is Mondays at 08:00, '*/15 * * * *' every 15 minutes"
)
# Methods of the record mapping a template may call (`record.get('x')`), not field names.
_MAPPING_METHODS: Final = frozenset({"get", "items", "keys", "values"})


@cache
def _parser() -> Environment:
    # parsing only (never rendering): one environment per process holds configuration, no data
    return Environment(autoescape=False)


def cron_problem(expression: str) -> str | None:
    """Why `expression` is not a five-field cron expression that fires (None when it is)."""
    parts = expression.split()
    if len(parts) != len(CRON_FIELDS):
        return f"it has {len(parts)} fields, not {len(CRON_FIELDS)}"
    if not croniter.is_valid(expression):
        for i, part in enumerate(parts):
            probe = ["*"] * len(CRON_FIELDS)
            probe[i] = part
            if not croniter.is_valid(" ".join(probe)):
                name, accepted = CRON_FIELDS[i]
                return f"the {name} field {part!r} is not valid ({accepted})"
        return "the fields do not form a valid schedule"
    try:
        croniter(expression, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except CroniterBadDateError:
        return "it never fires (no such date)"
    return None


def check_cron(ctx: Ctx, expression: str, path: JsonPath) -> None:
    """A schedule must be a valid five-field cron expression that fires."""
    why = cron_problem(expression)
    if why is not None:
        ctx.add("automation-cron", f"invalid schedule {expression!r}: {why}", path, CRON_HINT)


def check_webhook_url(ctx: Ctx, url: str, path: JsonPath) -> None:
    """After `${NAME}` substitution a webhook URL is an absolute http(s) URL with a host."""
    if "${" in url:
        return  # checked without an environment: the value is only known at deploy time
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    spaced = any(c.isspace() for c in url)
    if parts is None or parts.scheme not in ("http", "https") or not host or spaced:
        ctx.add(
            "webhook-url",
            f"webhook URL {url!r} is not an absolute http:// or https:// URL with a host",
            path,
            "write https://hooks.example.com/portalis, or ${HOOK_URL} set in the environment",
        )


def is_user_ref(spec: Any) -> bool:
    """True for a raw field `{type: ref, to: user}`."""
    return isinstance(spec, dict) and spec.get("type") == "ref" and spec.get("to") == "user"


def check_recipient(
    ctx: Ctx, recipient: str, path: JsonPath, *, entity: str | None, what: str, actor: bool
) -> None:
    """`creator`, `actor`, `role:<role>` or a ref field to user of the record of `entity`
    (None: the action runs without a record); `actor` is False where nobody acts."""
    if recipient.startswith("role:"):
        role = recipient.partition(":")[2]
        if role not in ctx.roles:
            ctx.add("ref-unknown-role", f"unknown role {role!r}", path, suggest(role, ctx.roles))
        elif role == "anonymous":
            ctx.add(
                "recipient-unknown",
                "anonymous visitors have no address to notify",
                path,
                "notify a role of signed-in users",
            )
        return
    if recipient == "actor":
        if not actor:
            ctx.add(
                "automation-no-actor",
                f"nobody acts in {what}, so actor receives nothing",
                path,
                "notify creator, a role:<role> or a ref field to user",
            )
        return
    if entity is None:
        ctx.add(
            "automation-no-record",
            f"{what} has no entity:, so there is no record for {recipient!r}",
            path,
            "notify a role:<role>, or add entity: to run once per record",
        )
        return
    fields = ctx.fields_of(entity)
    if recipient == "creator" or is_user_ref(fields.get(recipient)):
        return
    if "." in recipient or _is_ref(fields.get(recipient), "account"):
        check_recipient_path(ctx, recipient, path, entity)
        return
    users = [n for n, f in fields.items() if is_user_ref(f)]
    ctx.add(
        "recipient-unknown",
        f"{recipient!r} is not a ref to user of {entity}",
        path,
        _hint(
            recipient,
            users,
            "recipients: creator, actor, role:<role>, a ref field to user or account, or a "
            "ref path such as account.sales_rep",
        ),
    )


def _hint(name: str, options: list[str], otherwise: str) -> str:
    """`did you mean …?` for a near miss, else `otherwise` with the options listed."""
    close = suggest(name, options)
    if close.startswith("did you mean"):
        return close
    return otherwise + (f" ({', '.join(options)})" if options else "")


def _is_ref(spec: Any, target: str | None = None) -> bool:
    return (
        isinstance(spec, dict)
        and spec.get("type") == "ref"
        and (target is None or spec.get("to") == target)
    )


def check_recipient_path(ctx: Ctx, recipient: str, path: JsonPath, entity: str) -> None:
    """`account.sales_rep`, `order.account`: every step a ref field of the record the step
    before led to, the last one a ref to `user` or to `account` (its users)."""
    current = entity
    steps = recipient.split(".")
    for i, step in enumerate(steps):
        fields = ctx.fields_of(current)
        spec = fields.get(step)
        if not isinstance(spec, dict) or not _is_ref(spec):
            refs = [n for n, f in fields.items() if _is_ref(f)]
            ctx.add(
                "recipient-path",
                f"{'.'.join(steps[: i + 1])!r}: {current} has no ref field {step!r}",
                path,
                _hint(step, refs, "each step of a recipient path is a ref field"),
            )
            return
        current = str(spec.get("to"))
    if current not in ("user", "account"):
        ctx.add(
            "recipient-path",
            f"{recipient!r} leads to a {current}, not to a user or an account",
            path,
            "end the path at a ref to user (a person) or to account (its users)",
        )


def check_notifications(
    ctx: Ctx, sent: Mapping[str, Sequence[tuple[str | None, JsonPath]]]
) -> None:
    """Links, locales, use and record fields of every notification."""
    pages = ctx.data.get("pages") or {}
    declared = list(ctx.data.get("locales") or [])
    for name, spec in (ctx.data.get("notifications") or {}).items():
        base: JsonPath = ("notifications", name)
        link = spec.get("link")
        if link is not None and link not in pages:
            ctx.add(
                "ref-unknown-page", f"unknown page {link!r}", (*base, "link"), suggest(link, pages)
            )
        for key in ("subject", "body"):
            _check_locales(ctx, spec[key], (*base, key), declared)
        if name not in sent:
            ctx.add(
                "notification-unused",
                f"no action sends notification {name!r}",
                base,
                "send it with - notify: {template: " + name + ", to: [...]}, or remove it",
                key=True,
                severity=Severity.WARNING,
            )
            continue
        for key in ("subject", "body"):
            _check_template_fields(ctx, name, spec[key], (*base, key), sent[name])


def _check_locales(ctx: Ctx, texts: Any, path: JsonPath, declared: list[str]) -> None:
    if not isinstance(texts, dict):
        return
    for locale in texts:
        if locale not in declared:
            ctx.add(
                "notification-locale",
                f"{locale!r} is not a locale of the portal; this text is never sent",
                (*path, locale),
                "declared locales: " + ", ".join(declared),
                key=True,
                severity=Severity.WARNING,
            )
    missing = [loc for loc in declared if loc not in texts]
    if len(declared) > 1 and missing:
        ctx.add(
            "translation-missing",
            f"no {', '.join(missing)} text",
            path,
            "recipients with that language get the default locale's text",
            severity=Severity.WARNING,
        )


def template_record_keys(source: str) -> set[str]:
    """The record fields a template reads (`record.x`, `record['x']`); empty when it does not
    parse (compiling reports that)."""
    try:
        tree = _parser().parse(source)
    except (TemplateSyntaxError, RecursionError):
        return set()
    keys: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if not isinstance(node, nodes.Getattr | nodes.Getitem) or not _is_record(node.node):
            continue
        if isinstance(node, nodes.Getattr) and node.attr not in _MAPPING_METHODS:
            keys.add(node.attr)
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            if isinstance(node.arg.value, str):
                keys.add(node.arg.value)
    return keys


def _is_record(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Name) and node.name == "record"


def _texts(raw: Any, path: JsonPath) -> Iterator[tuple[str, JsonPath]]:
    if isinstance(raw, str):
        yield raw, path
    elif isinstance(raw, dict):
        for locale, text in raw.items():
            yield str(text), (*path, locale)


def _record_keys(ctx: Ctx, entity: str) -> set[str]:
    """What a record of `entity` holds: its fields, their extra columns, system columns."""
    from_fields: set[str] = set(SYSTEM_COLUMNS)
    for fname, spec in ctx.fields_of(entity).items():
        from_fields.add(fname)
        ftype = ctx.registry.get(str(spec.get("type")))
        if ftype is not None:
            from_fields.update(ftype.column_names(Field(fname, ftype.name, Label.of(fname), ftype)))
    return from_fields


def _check_template_fields(
    ctx: Ctx,
    name: str,
    raw: Any,
    path: JsonPath,
    senders: Sequence[tuple[str | None, JsonPath]],
) -> None:
    reported: set[str] = set()
    for text, tpath in _texts(raw, path):
        keys = template_record_keys(text)
        for entity, _ in senders:
            if entity is not None and entity not in ctx.entities:
                continue
            known = _record_keys(ctx, entity) if entity is not None else set()
            for key in sorted(keys - known - reported):
                reported.add(key)
                if entity is None:
                    message = (
                        f"record.{key} is empty: a scheduled automation without entity sends it"
                    )
                    hint = "only use record in notifications sent for a record"
                else:
                    message = f"record.{key} is empty: {entity} has no field {key!r}"
                    hint = suggest(key, ctx.fields_of(entity))
                ctx.add("template-field", message, tpath, hint, severity=Severity.WARNING)

"""Problems: what the engine reports about a definition instead of raising tracebacks.

Every problem carries a stable code, a severity, a message, a location (file, line, column,
JSON path) and a hint. Codes are listed in `CODES` so the reference documentation can be
generated and a test can fail when a code is used but undocumented.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

JsonPath = tuple[str | int, ...]


class Severity(StrEnum):
    """How bad a problem is: errors block compile and deploy, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


#: Stable problem codes and what they mean. Codes never change meaning once published.
CODES: Final[dict[str, str]] = {
    # loading
    "file-missing": "A file the definition needs (portal.yaml, an include, an asset) does not exist.",
    "file-too-large": "A definition file is larger than the loader accepts.",
    "file-encoding": "A definition file is not valid UTF-8.",
    "file-type": "A definition file has an extension the loader does not read.",
    "bundle-too-large": "The definition has more files or bytes than the loader accepts.",
    "zip-invalid": "An uploaded definition archive is not a zip file.",
    "zip-path": "An entry of an uploaded zip points outside the definition (absolute or `..`).",
    "draft-portal": "A draft's files name another portal than the one the draft belongs to.",
    "yaml-syntax": "The file is not valid YAML or JSON.",
    "yaml-tab": "A tab character is used for indentation; YAML indents with spaces.",
    "yaml-tag": "An explicit YAML tag (such as !!python/object) is not allowed.",
    "yaml-bool": "yes/no/on/off are strings in Portalis; booleans are only true and false.",
    "yaml-duplicate-key": "A mapping has the same key twice.",
    "yaml-key-type": "A mapping key is not a string.",
    "yaml-too-many-nodes": "The document expands to too many nodes (alias bomb or oversized file).",
    "yaml-too-deep": "The document nests deeper than the loader accepts.",
    "yaml-multi-document": "A definition file holds more than one YAML document.",
    "include-bad": "An include pattern is malformed or escapes the definition folder.",
    "include-empty": "An include pattern matches no file.",
    "include-nested": "An included file has its own include; only portal.yaml includes.",
    "include-duplicate": "Two files define the same top-level key or the same named item.",
    "env-missing": "A ${NAME} reference names an environment variable that is not set.",
    "env-syntax": "A ${...} reference is malformed.",
    # schema
    "schema-unknown-key": "A key is not part of definition format v1.",
    "schema-missing-key": "A required key is missing.",
    "schema-type": "A value has the wrong type.",
    "schema-value": "A value is not one of the allowed values.",
    "secret-literal": "A secret (client secret, bind password, private key) is written into the definition instead of a ${ENV} reference.",
    "schema-format": "A value does not have the required form (pattern, length, range).",
    "schema-invalid": "A value does not match the definition format.",
    "format-version": "The format key names a version this engine does not read.",
    # semantics
    "ref-unknown-entity": "A reference names an entity that does not exist.",
    "ref-unknown-field": "A reference names a field that does not exist on its entity.",
    "ref-unknown-page": "A reference names a page that does not exist.",
    "ref-unknown-role": "A reference names a role that is neither declared nor built in.",
    "ref-unknown-workflow-state": "A workflow names a state its status field does not offer.",
    "ref-unknown-field-type": "A field type is not registered.",
    "field-option": "A field type option is missing, unknown or wrong for its type.",
    "field-capability": "A field is used where its type cannot serve (filter, sort, search, index).",
    "search-field-type": "A full-text `search:` names a field that is not a `string` or `text` field.",
    "search-field-virtual": "A full-text `search:` names a field computed by the database, which has no column to index.",
    "search-weights": "A full-text `search:` gives more than four different weights.",
    "search-not-indexed": "A search block names an entity without a full-text `search:`.",
    "field-reserved": "A field uses a name reserved for system columns.",
    "field-default": "A field default is not a valid value of the field.",
    "sequence-format": "A sequence field's format has no {seq} (or more than one), an unknown "
    "token, an invalid width or an unmatched brace, or makes numbers longer than 100 characters.",
    "sequence-reset": "A sequence field restarts yearly or monthly but its format does not show "
    "the year (and month), so numbers would repeat.",
    "option-rename": "A choice option's renamed_from names a value another option still has, "
    "an old value two options claim, or a value that could never have been stored.",
    "option-rename-unknown": "A choice option's renamed_from names a value the live version's "
    "field never offered and no record holds (checked when planning against the database).",
    "index-invalid": "A declared index repeats a column or another index, or has too many columns.",
    "role-assigns-builtin": "A role's `assigns:` names a built-in role, which is never given.",
    "role-assigns-staff": "A staff role has `assigns:`; only customer-side roles manage their account's users.",
    "role-assigns-staff-role": "A role's `assigns:` names a staff role, which account admins may not give.",
    "role-cycle": "Role inheritance forms a cycle.",
    "role-reserved": "A declared role redefines a built-in role.",
    "route-syntax": "A page route is malformed.",
    "route-duplicate": "Two pages have the same route.",
    "route-reserved": "A page route uses a path the runtime keeps for itself (login, api, …).",
    "route-param": "A route parameter is not usable by the page's blocks.",
    "scope-account": "An account scope is used on an entity without a usable reference to account.",
    "scope-account-tree": "An account_tree scope is used but the account entity names no parent_field.",
    "scope-parent": "A parent scope does not name a reference field.",
    "parent-field": "parent_field is declared on an entity other than account, or names no ref to account.",
    "scope-self": "A self scope is used on an entity other than user.",
    "scope-where": "A where scope names an unknown field or an invalid value.",
    "scope-cycle": "Parent scopes form a cycle.",
    "scope-when-read": "A parent scope's state condition (when:) is on a grant that reads.",
    "scope-message": "A parent scope has a message: but no when: that could refuse a write.",
    "grant-action": "A grant names an action that does not apply to its entity (transition "
    "without a workflow, pay or refund on an entity that is not payable).",
    "grant-fields": "A grant's field restriction names unknown fields.",
    "workflow-field": "A workflow's field is not a choice field of its entity.",
    "workflow-duplicate": "An entity has two workflows on the same field, or a transition name repeats.",
    "workflow-unreachable": "A workflow state cannot be reached from the initial state.",
    "workflow-require": "A transition requires a field that does not exist.",
    "workflow-assignee": "A transition's assignee_field is not a ref field to user of its entity.",
    "timer-transition": "A timer's transition does not exist or cannot start from its state.",
    "timer-action": "A timer needs exactly one of transition and actions.",
    "timer-duplicate": "Two timers of a workflow have the same name.",
    "timer-moment": "A timer needs after: or before: with of: a date or datetime field.",
    "calendar-field": "A calendar block's field has the wrong type (datetime start and end, "
    "int capacity and booked).",
    "calendar-booking": "A calendar's booking entity has no ref field to its slot entity.",
    "calendar-booked": "A calendar's booked field is not a count rollup of its bookings.",
    "calendar-capacity-rule": "No rule of the slot entity keeps booked within capacity.",
    "calendar-booking-field": "The booking entity has a required field the week view cannot fill.",
    "calendar-cancel": "A calendar's cancel: names no transition of the booking's workflow.",
    "calendar-timezone": "A calendar's timezone: is not a known IANA time zone.",
    "action-field-state": "An action writes a workflow's state field (states change by transitions).",
    "action-field-derived": "An action writes a computed or rolled-up field.",
    "action-value": "A literal value of a set or create action is not a valid value of its field.",
    "action-create-required": "A create action gives no value for a required field without default.",
    "ref-unknown-notification": "A notify action names a notification that does not exist.",
    "recipient-unknown": "A recipient is not creator, actor, role:<role> or a ref field to user "
    "or account.",
    "recipient-path": "A step of a recipient path (account.sales_rep) is not a ref field, or the "
    "path does not end at a user or an account.",
    "action-transition": "A transition action names no transition of the record's workflows.",
    "action-transition-site": "A transition or timer has a transition action (only automations "
    "take transitions as actions).",
    "copy-child": "A child of copy: has no (single) ref field to the copied entity.",
    "copy-reset": "A reset field of copy: belongs to an entity that is not copied.",
    "copy-reset-required": "copy: resets a required field that has no default.",
    "copy-unique": "copy: copies a unique field as it is, so every copy would be refused.",
    "copy-undeclared": "A detail block offers copy on an entity without copy:.",
    "attachments-undeclared": "An attachments block names an entity without attachments:.",
    "payable-undeclared": "A payments block names an entity without payable:.",
    "attachments-folder-duplicate": "attachments: lists the same folder twice.",
    "attachments-type": "attachments: allows a file type whose content cannot be checked.",
    "payable-no-providers": "An entity is payable, but the portal declares no payments.providers.",
    "payable-amount": "A payable entity's amount is not a money field of the entity, or is "
    "paid_online itself.",
    "payable-transition": "A payable entity's paid or reopened names no transition of a "
    "workflow of the entity.",
    "payable-provider": "A payable entity's providers names no payments.providers entry.",
    "payable-description": "A payable entity's description has a {placeholder} that names no "
    "field of the entity.",
    "payable-partial-minimum": "A payable entity's partial minimum is not above zero.",
    "printout-template-missing": "A printout's template is not a file of the definition folder.",
    "printout-template": "A printout's template is not valid Jinja.",
    "printout-filename": "A printout's file name names a field its entity does not have.",
    "printout-list-via": "A printout list's via is not a ref field to the record above.",
    "printout-list-field": "A printout list filters or sorts by a field its entity lacks.",
    "printout-list-depth": "A printout's lists nest deeper than two levels.",
    "printout-unknown": "A notification attaches a printout no entity declares.",
    "webhook-url": "A webhook URL (after ${NAME} substitution) is not an absolute http(s) URL.",
    "automation-entity": "An automation triggered by record changes names no entity.",
    "automation-transition": "An automation's on: transition:<name> names no transition of its entity.",
    "automation-cron": "A schedule is not a valid five-field cron expression, or never fires.",
    "automation-before": "An automation that is not on: update uses before (always None there).",
    "automation-no-record": "An automation uses a record it does not have (set on delete, a schedule "
    "without entity reading record fields).",
    "automation-no-actor": "A scheduled automation notifies actor, but nobody acts in a schedule.",
    "notification-locale": "A notification has a text for a locale the portal does not declare.",
    "notification-unused": "No action sends a notification.",
    "template-syntax": "A notification template is not valid Jinja.",
    "template-field": "A notification template reads a record field its entity does not have.",
    "rollup-via": "A rollup's via is not a ref field of the child entity pointing to this entity.",
    "rollup-type": "A rollup aggregates a field its aggregate cannot use, or the result does not "
    "fit the rollup field's type.",
    "rollup-where": "A rollup's where names an unknown child field or an invalid value.",
    "rollup-cycle": "Rollups depend on themselves, directly or through other rollups.",
    "field-derived": "A field is both computed and rolled up, or a derived field has an "
    "expression default.",
    "virtual-not-queryable": "A virtual field (stored: false) is used where the database must "
    "read it (filter, sort, search, scope, metric, rollup) or is unique, indexed or required.",
    "computed-reads-hidden": "A computed field is readable under a grant that hides a field its "
    "expression reads (an error for stored fields, which would show it; a warning for virtual "
    "ones, computed without it).",
    "expression-syntax": "An expression is not a valid single Python expression.",
    "expression-forbidden": "An expression uses a construct outside the allow-list.",
    "expression-name": "An expression uses a name that is not available.",
    "expression-too-large": "An expression is longer or larger than allowed.",
    "lookup-invalid": "A declared lookup names an entity, field, path, date or order that does "
    "not exist or does not fit (a reference matched with a value, a valid field that is no "
    "date), or has the name of a field.",
    "currency-source": "A money field's `currency: {from: …}` does not name a string or choice "
    "field of the record, or of a record it refers to through ref fields.",
    "expression-related": "An expression reads a referenced record (`record.product.price`) "
    "where that is not possible: outside compute, default and rule checks, through a field "
    "that is not a reference, more than three references deep, or a field computed on read.",
    "expression-type": "An expression applies an operation to values that do not support it "
    "(a plain number added to money, two currencies mixed, money times money) or computes a "
    "value its field cannot hold (money into a decimal field).",
    "expression-failed": "An expression failed while running (a record, a seed row); the log "
    "line and the error name the expression's file:line:col in the definition.",
    "expression-budget": "An expression exceeded its run-time budget (steps, sizes); logged "
    "like expression-failed.",
    "block-option": "A block's options are wrong for the block.",
    "bulk-action": "A list's bulk action names a transition the entity's workflows lack, a "
    "field that cannot be set (or a value it cannot hold), deletes an entity no role may "
    "delete, or repeats another bulk action.",
    "block-route": "A detail/form block on a page needs an <id> route parameter.",
    "live-needs-parent": "live: on a list block needs parent: (live lists are a record's "
    "children, so the server watches a few indexed rows, not a whole table).",
    "navigation-unknown": "Navigation names a page that does not exist.",
    "navigation-param": "Navigation names a page whose route needs parameters.",
    "title-field": "An entity's title field does not exist.",
    "table-name-too-long": "Portal slug and entity name together exceed the database identifier limit.",
    "translation-missing": "A label lacks a translation for a declared locale.",
    "locale-unknown": "A locale code is not known.",
    "currency-unknown": "A currency code is not an ISO 4217 code.",
    "metric-currency": "A metric converts money into a currency, but no exchange_rates: are "
    "declared.",
    "exchange-rates-field": "A field named by exchange_rates: is missing or has the wrong type.",
    "pattern-unsupported": "A pattern uses a construct the linear-time matcher (RE2) lacks, "
    "such as backreferences or lookaround.",
    "asset-unsafe": "An asset is unsafe to serve (custom CSS with @import, expression(), ...).",
    "seed-invalid": "Seed data references unknown keys or has invalid values, misses a "
    "required field, breaks a rule, or an expression fails on a seed row (checked by validate "
    "as deploy --seed loads it; one problem per failing row).",
    # warnings (valid, but almost certainly wrong)
    "grant-fields-unshown": "Warning: a create grant lets a role set fields that no create form "
    "of that role shows, so they can be set through the API; restrict the grant with fields:.",
    "grant-account-empty": "Warning: a create grant with scope own on an entity whose account "
    "reference may be left empty (not required, no default from the actor's account).",
    "payable-amount-static": "Warning: a payable entity's amount does not depend on "
    "paid_online, so a paid record still shows it as open and the payer could pay it again.",
    "compute-stale": "Warning: a stored computed field uses today() or now() and goes stale; "
    "make it virtual (stored: false) or live (stored: sql).",
    "compute-not-sql": "A `stored: sql` field's expression has no exact SQL form (a construct, "
    "function, field type or result type the database cannot compute).",
    "plugin-problem": "A plugin reported a problem (plugins may also use codes of their own).",
    "plugin-error": "A plugin's check failed with an exception; the definition is treated as invalid.",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a definition, with where it is and how to fix it."""

    code: str
    message: str
    file: str = ""
    line: int = 0
    col: int = 0
    path: JsonPath = ()
    hint: str = ""
    severity: Severity = Severity.ERROR

    @property
    def path_text(self) -> str:
        """The JSON path as `entities.ticket.fields[2]`."""
        return format_path(self.path)

    def format(self) -> str:
        """`file:line:col: CODE message (path) — hint`, the form the CLI prints."""
        where = f"{self.file or '<definition>'}:{self.line}:{self.col}"
        text = f"{where}: {self.code} {self.message}"
        if self.severity is Severity.WARNING:
            text = f"{where}: warning {self.code} {self.message}"
        if self.path:
            text += f" ({self.path_text})"
        if self.hint:
            text += f" — {self.hint}"
        return text

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly form (API, builder)."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "path": self.path_text,
            "hint": self.hint,
        }


def format_path(path: Sequence[str | int]) -> str:
    """Render a JSON path as dotted keys with [index] for list items."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass(slots=True)
class Report:
    """An ordered collection of problems; `ok` when it holds no error."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        """Append one problem."""
        self.problems.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        """Append several problems."""
        self.problems.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        """Problems that block compile and deploy."""
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        """Problems that are reported but do not block."""
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def sorted(self) -> list[Problem]:
        """Problems ordered by file, line, column; stable for equal positions."""
        return sorted(self.problems, key=lambda p: (p.file, p.line, p.col))

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems)

    def __len__(self) -> int:
        return len(self.problems)


class PortalisError(Exception):
    """Base of all engine errors; each carries a stable code."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class DefinitionError(PortalisError):
    """A definition could not be loaded or compiled; `problems` says why."""

    code = "definition-invalid"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0].format() if self.problems else "invalid definition"
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(first + more)

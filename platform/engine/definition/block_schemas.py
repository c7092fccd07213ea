"""JSON Schemas of the built-in blocks' options (composed into the definition schema through
their sections in `block_sections`; `#/$defs/…` refer to the base schema's shared definitions)."""

from __future__ import annotations

from typing import Any

from .block_bulk import BULK
from .block_import import IMPORT
from .block_lines import LINES

#: `- list: …`
LIST: dict[str, Any] = {
    "type": "object",
    "properties": {
        "entity": {"$ref": "#/$defs/name"},
        "title": {"$ref": "#/$defs/label"},
        "columns": {
            "type": "array",
            "items": {"$ref": "#/$defs/name"},
            "description": "Columns (fields or created_at/updated_at/created_by/id).",
            "minItems": 1,
        },
        "filters": {
            "type": "array",
            "items": {"$ref": "#/$defs/name"},
            "description": "Fields offered as filters.",
        },
        "search": {
            "type": "array",
            "items": {"$ref": "#/$defs/name"},
            "description": "Fields the search box looks into.",
        },
        "sort": {
            "type": "string",
            "description": "Default sort: a field, '-' for descending.",
            "pattern": "^-?[a-z][a-z0-9_]*$",
        },
        "page_size": {
            "type": "integer",
            "description": "Rows per page.",
            "minimum": 1,
            "maximum": 200,
        },
        "link": {"$ref": "#/$defs/name", "description": "The detail page rows link to."},
        "parent": {
            "$ref": "#/$defs/name",
            "description": "On a detail page: the ref field that points to the page's record.",
        },
        "export": {"type": "boolean", "description": "Offer CSV export of what the actor may see."},
        "total": {
            "type": "boolean",
            "description": "Show how many rows match ('1–25 of 132', counted up to 10,000); "
            "false shows '1–25' with previous/next only and counts nothing.",
        },
        "bulk": BULK,
        "import": IMPORT,
        "live": {
            "type": "boolean",
            "description": "With parent: on a record page, rows added, changed or removed "
            "by others appear without a reload (new ones announced to screen readers); the "
            "portal's live_updates: sets how often the page asks.",
        },
    },
    "additionalProperties": False,
    "required": ["entity", "columns"],
    "description": "Rows of an entity with filters, search, sort, paging and export.",
}


#: `- detail: …`
DETAIL: dict[str, Any] = {
    "type": "object",
    "properties": {
        "entity": {"$ref": "#/$defs/name"},
        "fields": {
            "type": "array",
            "items": {"$ref": "#/$defs/name"},
            "description": "Fields shown (default: all readable).",
        },
        "actions": {
            "type": "array",
            "items": {
                "type": "string",
                "description": "An action.",
                "enum": ["transitions", "edit", "delete", "copy"],
            },
            "description": "Buttons offered (`copy` needs the entity's `copy:`).",
        },
        "history": {
            "type": "object",
            "description": "The history panel (changes, transitions, comments) for these roles.",
            "properties": {"roles": {"$ref": "#/$defs/role_list"}},
            "required": ["roles"],
            "additionalProperties": False,
        },
        "live": {
            "type": "boolean",
            "description": "The record's fields, status and offered transitions refresh "
            "without a reload when someone else changes it (the portal's live_updates: sets "
            "how often the page asks).",
        },
    },
    "additionalProperties": False,
    "required": ["entity"],
    "description": "One record with its allowed actions.",
}


#: `- form: …`
FORM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "entity": {"$ref": "#/$defs/name"},
        "fields": {
            "type": "array",
            "items": {"$ref": "#/$defs/name"},
            "description": "Fields of the form.",
            "minItems": 1,
        },
        "parent": {
            "$ref": "#/$defs/name",
            "description": "The ref field set to the page's record (on a detail page).",
        },
        "redirect": {
            "$ref": "#/$defs/name",
            "description": "Page to go to after saving (gets the record id).",
        },
        "mode": {"type": "string", "description": "create or edit.", "enum": ["create", "edit"]},
        "submit_label": {"$ref": "#/$defs/label"},
        "lines": LINES,
    },
    "additionalProperties": False,
    "required": ["entity", "fields"],
    "description": "A create or edit form.",
}


#: `- markdown: …`
MARKDOWN: dict[str, Any] = {
    "$ref": "#/$defs/label",
    "description": "Markdown text (localized), sanitized when rendered.",
}


#: `- search: …`
SEARCH_BOX: dict[str, Any] = {
    "type": "object",
    "properties": {
        "page": {
            "$ref": "#/$defs/name",
            "description": "The page the search goes to (its list reads the words as `?q=`); "
            "a page without <id> whose list has `search:`.",
        },
        "title": {"$ref": "#/$defs/label", "description": "Heading above the box."},
        "placeholder": {
            "$ref": "#/$defs/label",
            "description": "Example words shown in the empty box (the box also has a label).",
        },
        "button": {"$ref": "#/$defs/label", "description": "Text of the button (default: Search)."},
    },
    "additionalProperties": False,
    "required": ["page"],
    "description": "A search box that opens a list page with the typed words (`?q=`).",
}


#: `- metrics: […]` (its `metric` definition is hoisted into the schema's `$defs`)
METRICS: dict[str, Any] = {
    "type": "array",
    "items": {"$ref": "#/$defs/metric"},
    "description": "KPI cards and charts.",
    "minItems": 1,
    "$defs": {
        "metric": {
            "type": "object",
            "properties": {
                "label": {"$ref": "#/$defs/label"},
                "entity": {"$ref": "#/$defs/name"},
                "aggregate": {
                    "type": "string",
                    "description": "count (default), or sum, avg, min or max of field:. sum and "
                    "avg take number or money fields, min and max also dates.",
                    "enum": ["count", "sum", "avg", "min", "max"],
                },
                "field": {"$ref": "#/$defs/name", "description": "The field aggregated."},
                "where": {
                    "type": "object",
                    "propertyNames": {"$ref": "#/$defs/name"},
                    "additionalProperties": {
                        "type": ["string", "number", "boolean", "null"],
                        "description": "The value the field must have (null: empty).",
                    },
                    "description": "Count only records with these field values (several "
                    "fields must all match), like list filters; the reader's scope still "
                    "applies.",
                },
                "group_by": {
                    "oneOf": [
                        {"$ref": "#/$defs/name", "description": "A field to group by."},
                        {
                            "type": "object",
                            "properties": {
                                "field": {
                                    "$ref": "#/$defs/name",
                                    "description": "A date or datetime field (datetimes in UTC).",
                                },
                                "by": {
                                    "type": "string",
                                    "description": "The period: day, week (from Monday), "
                                    "month, quarter or year.",
                                    "enum": ["day", "week", "month", "quarter", "year"],
                                },
                            },
                            "required": ["field", "by"],
                            "additionalProperties": False,
                            "description": "Time buckets of a date field, in date order; "
                            "empty periods between the first and the last show as 0.",
                        },
                    ],
                    "description": "Group by this field, or by periods of a date field (a "
                    "chart or table shows the groups).",
                },
                "chart": {
                    "type": "string",
                    "description": "Chart type for grouped metrics.",
                    "enum": ["none", "bar", "pie", "line"],
                },
                "display": {
                    "type": "string",
                    "description": "card (default: the figure, its groups behind 'Show "
                    "figures') or table (the groups listed in an open table, next to the "
                    "chart if there is one).",
                    "enum": ["card", "table"],
                },
                "currency": {
                    "type": "string",
                    "pattern": "^[A-Z]{3}$",
                    "description": "Report money in this currency, converted with the "
                    "portal's exchange_rates (without it, each currency is shown on its own).",
                },
            },
            "additionalProperties": False,
            "required": ["label", "entity"],
            "description": "A KPI.",
        }
    },
}

"""What the reference says about a built-in field type's values beyond its options."""

from __future__ import annotations

from typing import Final

#: What the reference says about a built-in field type's values beyond its options: the input
#: forms it accepts and how it answers (kept next to the examples: text of the reference only).
FIELD_TYPE_NOTES: Final[dict[str, str]] = {
    "money": (
        "Input — in seed files, literal defaults, `set` and `create` values and API bodies — is "
        'one of: a number or decimal text (`12.50`, `"12.50"`), taken in the field\'s `currency` '
        "(else the portal's); text with the ISO 4217 code before or after the amount "
        '(`"12.50 USD"`, `"USD 12.50"`; the code in any case, at most 64 characters in '
        'all); or a mapping `{amount: "12.50", currency: USD}` whose `amount` is a number or '
        "decimal text and whose `currency` may be left out (the field's currency). Amounts "
        "written as text have no thousands separators or exponent; every amount is rounded "
        "half-even (banker's rounding) to the currency's minor units (JPY 0, EUR 2, KWD 3) "
        "when it is stored; expressions compute with every digit until then (see Money in "
        "expressions). The API answers "
        '`{"amount": "12.50", "currency": "EUR"}` (the amount as text, so no digit is '
        "lost); forms show an amount box and a currency list. Amounts are exact on every "
        "database: PostgreSQL stores `NUMERIC(18, 4)`, SQLite whole ten-thousandths as "
        "64-bit integers (`SCALED_DECIMAL(18, 4)`), so sums, sorting and filters never "
        "meet a binary fraction."
    ),
    "decimal": (
        "Values are exact on every database: PostgreSQL stores `NUMERIC(precision, places)`; "
        "SQLite, which has no decimal storage, stores whole units of the last place as 64-bit "
        "integers (`SCALED_DECIMAL(precision, places)`: 38.70 with `places: 2` is 3870), for "
        "up to 18 digits. A SQLite database deployed by an earlier release, whose decimal "
        "columns hold binary floats, is converted by its next deploy (a non-destructive "
        "type change in the plan); changing `places` later rescales the stored units, and "
        "refuses (`lossy-conversion`) when a value has more places than the new setting."
    ),
    "sequence": (
        "The record store numbers a record in the transaction that creates it (deploy "
        "`--seed` included): a create that fails or rolls back uses no number, and concurrent "
        "creates never share one (they take turns: the counter is locked until each create "
        "commits). Each period (`reset`) has its own counter, taken from the creation date in "
        "UTC. Nobody writes the value: forms do not offer it, the API refuses "
        "it (422 `not-writable`), workflow actions and seed files may not set it. Lists show, "
        "search and sort it as text — keep `{seq}` zero-padded (`{seq:05d}`) so numbers sort "
        "in order. The number is assigned as the new row is written, so rules and computed "
        "fields see it from the first update on, not while the record is created. Records "
        "that exist when the field is added are numbered by the deploy, oldest first, each in "
        "the period it was created in; changing "
        "`format` or `reset` later may produce numbers that are already taken (those creates "
        "are refused as not unique): raise `start` past them."
    ),
    "markdown": (
        "The value is stored as the Markdown source and searched as text. Pages render it "
        "with CommonMark plus tables and strikethrough, then pass the HTML through an "
        "allow-list sanitiser (nh3): raw HTML in the source is shown as text, event "
        "handlers and `javascript:`/`data:` links never survive, links get "
        '`rel="nofollow noopener"`, and images load only from the portal\'s own origin '
        "(relative paths). A record's HTML is rendered once per version and kept in a "
        "bounded cache. Lists and CSV exports show the source as plain text (lists cut to "
        "`excerpt` characters with the markup removed); forms offer a textarea whose help "
        "says Markdown is accepted; the API reads and writes the source."
    ),
}

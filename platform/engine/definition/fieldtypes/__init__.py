"""The built-in field types, registered as a default plugin through `portalis_field_types`.

string, text (`text`); email, phone, url (`contact`); int, decimal (`numbers`); money
(`money`); bool (`boolean`); date, datetime (`temporal`); choice, tags (`choices`); ref, file
(`refs`); json (`jsonvalue`); sequence (`sequence`); markdown (`markdown`).
"""

from __future__ import annotations

from ...markers import hookimpl
from ..fields import FieldType
from .boolean import BoolType
from .choices import Choice, ChoiceConfig, ChoiceType, TagsConfig, TagsType, parse_choices
from .contact import EmailType, PhoneType, UrlType
from .jsonvalue import JsonType
from .markdown import MarkdownConfig, MarkdownType
from .money import Money, MoneyConfig, MoneyType
from .numbers import DecimalConfig, DecimalType, IntConfig, IntType
from .refs import FileConfig, FileType, RefConfig, RefType
from .sequence import SequenceConfig, SequenceType
from .temporal import DateConfig, DateTimeType, DateType
from .text import StringConfig, StringType, TextConfig, TextType

__all__ = [
    "BoolType",
    "Choice",
    "ChoiceConfig",
    "ChoiceType",
    "DateConfig",
    "DateTimeType",
    "DateType",
    "DecimalConfig",
    "DecimalType",
    "EmailType",
    "FileConfig",
    "FileType",
    "IntConfig",
    "IntType",
    "JsonType",
    "MarkdownConfig",
    "MarkdownType",
    "Money",
    "MoneyConfig",
    "MoneyType",
    "PhoneType",
    "RefConfig",
    "RefType",
    "SequenceConfig",
    "SequenceType",
    "StringConfig",
    "StringType",
    "TagsConfig",
    "TagsType",
    "TextConfig",
    "TextType",
    "UrlType",
    "builtin_field_types",
    "parse_choices",
    "portalis_field_types",
]


def builtin_field_types() -> list[FieldType]:
    """A fresh instance of every built-in field type."""
    return [
        StringType(),
        TextType(),
        EmailType(),
        PhoneType(),
        UrlType(),
        IntType(),
        DecimalType(),
        MoneyType(),
        BoolType(),
        DateType(),
        DateTimeType(),
        ChoiceType(),
        TagsType(),
        RefType(),
        FileType(),
        JsonType(),
        SequenceType(),
        MarkdownType(),
    ]


@hookimpl
def portalis_field_types() -> list[FieldType]:
    """The 18 built-in field types."""
    return builtin_field_types()

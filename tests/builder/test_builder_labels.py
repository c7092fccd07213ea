"""Which parts of a definition are localized labels: found from the composed schema, never
names of things, whatever they are called."""

from __future__ import annotations

from portalis.builder.editors.labels import find_labels, label_keys
from portalis.engine.deploy.validator import Checker
from portalis.engine.plugins import make_plugin_manager


def _keys() -> frozenset[str]:
    return label_keys(Checker(make_plugin_manager(load_entrypoints=False)).schema)


def test_the_schema_names_every_kind_of_label() -> None:
    keys = _keys()
    for name in ("label", "plural_label", "title", "description", "help", "message"):
        assert name in keys, name
    for name in ("markdown", "submit_label", "subject", "body"):
        assert name in keys, name
    assert "type" not in keys and "name" not in keys and "entity" not in keys


def test_names_of_things_are_not_labels_and_plain_strings_are() -> None:
    data = {
        "title": "Portal",
        "entities": {
            "title": {"label": {"en": "Title", "de": "Titel"}, "fields": {}},
            "note": {
                "fields": {
                    "description": {"type": "text"},
                    "kind": {"type": "choice", "options": [{"value": "a", "label": "A"}]},
                },
            },
        },
        "pages": {"home": {"blocks": [{"markdown": {"en": "# Hi"}}]}},
    }
    found = {label.key: (label.plain, dict(label.texts)) for label in find_labels(data, _keys())}
    assert found == {
        "title": (True, {"": "Portal"}),
        "entities.title.label": (False, {"en": "Title", "de": "Titel"}),
        "entities.note.fields.kind.options.0.label": (True, {"": "A"}),
        "pages.home.blocks.0.markdown": (False, {"en": "# Hi"}),
    }

"""Round-trip edits of a bundle's YAML: the builder's editors change only the lines they mean.

`BundleEdit(bundle).set("entities.ticket.fields.subject.max_length", 120).result()` gives the
new file texts and the files that changed; comments, key order, quoting, blank lines and
indentation elsewhere stay byte for byte.
"""

from .document import YamlText
from .edits import BundleEdit, EditResult, parse_path
from .tree import EditError

__all__ = ["BundleEdit", "EditError", "EditResult", "YamlText", "parse_path"]

"""Edits of a bundle's YAML files by definition path, keeping everything else as written.

A definition path names a node of the merged definition (`entities.ticket.fields.subject`,
`pages.new_ticket.blocks.0.form.fields`), the way problems name them. The loader's source map
says which file holds it: named sections (`entities`, `pages`, …) keep their paths inside the
file that defines the item; list sections (`navigation`, `seed`) that several files extend are
re-numbered within the file. New nodes go into the file of their nearest existing ancestor,
or into the file named by the caller (a new `entities/invoice.yaml`, say).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ...problems import JsonPath
from ..bundle import Bundle
from ..loader import DEFINITION_SUFFIXES, LIST_SECTIONS, RawPortal, load, match_files
from ..yamlsource import Pos
from .document import YamlText
from .layout import is_block
from .style import to_plain
from .tree import EditError

PathLike = str | Sequence[str | int]


def parse_path(path: PathLike) -> JsonPath:
    """`"pages.home.blocks.0"` → `("pages", "home", "blocks", 0)`; tuples pass through."""
    if isinstance(path, str):
        return tuple(int(p) if p.isdigit() else p for p in path.split(".") if p != "")
    return tuple(path)


@dataclass(frozen=True, slots=True)
class EditResult:
    """The edited bundle and the files whose text changed (added files included)."""

    bundle: Bundle
    changed: tuple[str, ...]

    @property
    def files(self) -> Mapping[str, str]:
        """Every file of the edited bundle (path → text)."""
        return self.bundle.files


class BundleEdit:
    """A sequence of edits on one bundle; `result()` gives the new file texts."""

    def __init__(self, bundle: Bundle) -> None:
        self._original = bundle
        self._files: dict[str, str] = dict(bundle.files)
        # an edit asks for the merged definition and a file's tree several times between two
        # changes; both are kept until the texts they were made from change
        self._loaded: tuple[tuple[tuple[str, str], ...], RawPortal] | None = None
        self._docs: dict[str, tuple[str, YamlText]] = {}

    def _raw(self) -> RawPortal:
        """The merged definition of the files as they are now (loaded once per state)."""
        key = tuple(self._files.items())
        if self._loaded is None or self._loaded[0] != key:
            self._loaded = (key, load(Bundle.of(self._files))[0])
        return self._loaded[1]

    # -- where things are --------------------------------------------------------------

    def locate(self, path: PathLike, *, file: str | None = None) -> tuple[str, JsonPath]:
        """The file that holds (or would hold) the node at a definition path, and the
        node's path inside that file."""
        full = parse_path(path)
        raw = self._raw()
        source = raw.source
        depth = len(full)
        while depth > 0 and not _exists(raw.data, full[:depth]):
            depth -= 1
        if depth == len(full) or file is None:
            probe = full[: max(depth, 1)] if full else ()
            found = source.locate(probe, key=True).file if probe else source.root_file
            if depth == 0 and file is None:
                found = source.root_file
            file = found if depth > 0 or file is None else file
        if file not in self._files:
            self._new_file(file)
        return file, self._local(full, file, source.positions)

    def position(self, path: PathLike) -> Pos:
        """file:line:col of the node at a definition path (of its key, for a mapping key),
        as problems report it; the nearest existing ancestor's for a missing node."""
        return self._raw().source.locate(parse_path(path), key=True)

    def _local(self, full: JsonPath, file: str, positions: Mapping[JsonPath, Any]) -> JsonPath:
        if len(full) >= 2 and full[0] in LIST_SECTIONS and isinstance(full[1], int):
            before = sum(
                1
                for (p, pos) in positions.items()
                if len(p) == 2
                and p[0] == full[0]
                and isinstance(p[1], int)
                and p[1] < full[1]
                and pos.file == file
            )
            return (full[0], before, *full[2:])
        return full

    def _new_file(self, file: str) -> None:
        root = Bundle.of(self._files).root
        if not file.endswith(DEFINITION_SUFFIXES[:2]):
            raise EditError(f"{file} is not a YAML file")
        raw, _ = load(Bundle.of({**self._files, file: ""}))
        patterns = raw.data.get("include") or []
        patterns = [patterns] if isinstance(patterns, str) else patterns
        candidate = Bundle.of({file: ""})
        if file != root and not any(
            isinstance(p, str) and match_files(candidate, p) for p in patterns
        ):
            raise EditError(
                f"{file} is not included by {root or 'portal.yaml'}",
                hint="add a matching pattern to include: first, or pick an included file",
            )
        self._files[file] = ""

    def _doc(self, file: str) -> YamlText:
        if file.endswith(".json"):
            raise EditError(f"{file} is JSON; edit it as text", hint="YAML files edit in place")
        text = self._files[file]
        cached = self._docs.get(file)
        if cached is None or cached[0] != text:  # a YamlText never changes: edits return text
            cached = self._docs[file] = (text, YamlText(text, file))
        return cached[1]

    # -- edits -------------------------------------------------------------------------

    def set(self, path: PathLike, value: Any, *, file: str | None = None) -> BundleEdit:
        """Set the value at `path`, creating missing mappings; an existing mapping or list
        is updated in place (keys kept in their order, with their comments)."""
        name, local = self.locate(path, file=file)
        doc = self._doc(name)
        if doc.has(local):
            self._update(name, local, value)
            return self
        depth = len(local)
        while depth > 0 and not doc.has(local[: depth - 1]):
            depth -= 1
        parent, key = local[: depth - 1], local[depth - 1]
        nested = value
        for step in reversed(local[depth:]):
            if not isinstance(step, str):
                raise EditError(f"cannot create list item {step} of {'.'.join(map(str, local))}")
            nested = {step: nested}
        holder = doc.get(parent)
        if not isinstance(key, str) or not isinstance(holder, (CommentedMap, type(None))):
            raise EditError(f"{name}: {'.'.join(map(str, parent))} is not a mapping")
        if holder is None:
            self._files[name] = doc.replace(parent, {key: nested})
        else:
            self._files[name] = doc.insert(parent, len(holder), key, nested)
        return self

    def _update(self, name: str, local: JsonPath, value: Any) -> None:
        doc = self._doc(name)
        node = doc.get(local)
        if to_plain(node) == value:
            return
        if isinstance(node, CommentedMap) and isinstance(value, dict) and value:
            for key in [k for k in node if k not in value]:
                self._files[name] = self._doc(name).delete((*local, key))
            previous: str | None = None
            for key, item in value.items():
                current = self._doc(name).get(local)
                if key in current:
                    self._update(name, (*local, key), item)
                else:
                    index = list(current).index(previous) + 1 if previous is not None else 0
                    self._files[name] = self._doc(name).insert(local, index, key, item)
                previous = key
            return
        if isinstance(node, CommentedSeq) and isinstance(value, list) and value:
            for index in range(len(node) - 1, len(value) - 1, -1):
                self._files[name] = self._doc(name).delete((*local, index))
            for index, item in enumerate(value):
                if index < len(self._doc(name).get(local)):
                    self._update(name, (*local, index), item)
                else:
                    self._files[name] = self._doc(name).insert(local, index, None, item)
            return
        if local and is_block(node) and isinstance(doc.get(local[:-1]), CommentedMap):
            parent = doc.get(local[:-1])
            if len(parent) >= 2:
                index = list(parent).index(local[-1])
                removed = YamlText(doc.delete(local), name)
                self._files[name] = removed.insert(local[:-1], index, str(local[-1]), value)
                return
        if not local:
            raise EditError("replace a whole file with set_file")
        self._files[name] = doc.replace(local, value)

    def delete(self, path: PathLike) -> BundleEdit:
        """Remove a mapping key or a list item, with its leading comments."""
        name, local = self._existing(path)
        self._files[name] = self._doc(name).delete(local)
        return self

    def rename(self, path: PathLike, new: str) -> BundleEdit:
        """Rename a mapping key where it stands (position, value and comments stay)."""
        name, local = self._existing(path)
        self._files[name] = self._doc(name).rename(local, new)
        return self

    def insert(
        self,
        path: PathLike,
        value: Any,
        *,
        before: str | None = None,
        after: str | None = None,
        file: str | None = None,
    ) -> BundleEdit:
        """Add the mapping key that `path` ends with, before or after a sibling (default:
        at the end). The parent mapping must exist."""
        full = parse_path(path)
        name, local = self.locate(full[:-1], file=file)
        doc = self._doc(name)
        parent = doc.get(local)
        key = full[-1]
        if not isinstance(parent, CommentedMap) or not isinstance(key, str):
            raise EditError(f"{'.'.join(map(str, full[:-1]))} is not a mapping")
        index = len(parent)
        for sibling, shift in ((before, 0), (after, 1)):
            if sibling is not None:
                if sibling not in parent:
                    raise EditError(f"{'.'.join(map(str, full[:-1]))} has no {sibling}")
                index = list(parent).index(sibling) + shift
        self._files[name] = doc.insert(local, index, key, value)
        return self

    def insert_item(self, path: PathLike, index: int, value: Any) -> BundleEdit:
        """Insert `value` at position `index` of the list at `path`."""
        name, local = self._existing(path)
        self._files[name] = self._doc(name).insert(local, index, None, value)
        return self

    def append(self, path: PathLike, value: Any) -> BundleEdit:
        """Add `value` at the end of the list at `path`."""
        name, local = self._existing(path)
        doc = self._doc(name)
        self._files[name] = doc.insert(local, len(doc.get(local)), None, value)
        return self

    def move_item(self, path: PathLike, index: int, *, to: PathLike | None = None) -> BundleEdit:
        """Move the list item at `path` to position `index` of its own list or of the list
        `to` (counted after the item left its place)."""
        full = parse_path(path)
        target = parse_path(to) if to is not None else full[:-1]
        name, local = self._existing(full)
        if not isinstance(self._doc(name).get(local[:-1]), CommentedSeq):
            raise EditError(f"{'.'.join(map(str, full))} is a mapping key: move it with move_key")
        target_name, target_local = self._existing(target)
        if name == target_name:
            self._files[name] = self._doc(name).move(local, target_local, index)
            return self
        value = to_plain(self._doc(name).get(local))
        self._files[name] = self._doc(name).delete(local)
        self._files[target_name] = self._doc(target_name).insert(target_local, index, None, value)
        return self

    def move_key(
        self, path: PathLike, *, before: str | None = None, after: str | None = None
    ) -> BundleEdit:
        """Move a mapping key before or after a sibling in the same file (default: to the
        end), with its value, comments and writing — a field's place in its entity."""
        name, local = self._existing(path)
        doc = self._doc(name)
        parent = doc.get(local[:-1])
        if not isinstance(parent, CommentedMap):
            raise EditError(f"{'.'.join(map(str, local))} is not a mapping key")
        keys = [k for k in parent if k != local[-1]]
        index = len(keys)
        for sibling, shift in ((before, 0), (after, 1)):
            if sibling is not None:
                if sibling not in keys:
                    raise EditError(f"{name}: {'.'.join(map(str, local[:-1]))} has no {sibling}")
                index = keys.index(sibling) + shift
        self._files[name] = doc.move(local, local[:-1], index)
        return self

    def set_file(self, file: str, text: str) -> BundleEdit:
        """Replace a whole file's text (the code editor)."""
        self._files[file] = text
        return self

    def delete_file(self, file: str) -> BundleEdit:
        """Remove a whole file from the bundle (the code editor)."""
        if file not in self._files:
            raise EditError(f"the bundle has no file {file}")
        del self._files[file]
        return self

    def _existing(self, path: PathLike) -> tuple[str, JsonPath]:
        full = parse_path(path)
        if not _exists(self._raw().data, full):
            raise EditError(f"the definition has no {'.'.join(map(str, full))}")
        return self.locate(full)

    def result(self) -> EditResult:
        """The bundle after every edit so far and the files that changed."""
        changed = tuple(
            sorted(f for f, t in self._files.items() if self._original.files.get(f) != t)
        )
        return EditResult(Bundle.of(self._files), changed)


def _exists(data: Any, path: JsonPath) -> bool:
    node = data
    for step in path:
        if isinstance(node, dict) and isinstance(step, str) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        else:
            return False
    return True

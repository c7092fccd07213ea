"""One YAML file under edit: primitive edits that change only the lines they are about.

Each edit returns the file's new text. Adding, removing, moving and renaming entries of block
collections cut and paste lines (see `layout`); values and flow collections are changed on
ruamel.yaml's round-trip tree and carried back onto the file's text (see `splice`). Every
result is parsed again and compared with what the edit means on plain data; a text edit that
does not mean exactly that falls back to the tree, so an edit is never silently wrong.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from difflib import SequenceMatcher
from typing import Any, Concatenate, ParamSpec

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from ...problems import JsonPath
from .flowtext import delete_entry, flow_entry, flow_value, insert_entry, replace_value
from .layout import Span, is_block, reindent, separator, spans
from .splice import splice
from .style import (
    Indent,
    detect_indent,
    dump,
    from_plain,
    load_text,
    make_yaml,
    round_trip_tree,
    to_plain,
)
from .tree import EditError, dotted, node_at, ordered, plain_key, reads, seq_index

_P = ParamSpec("_P")
_BARE_LF = re.compile(r"(?<!\r)\n")


def _keep_newlines(
    method: Callable[Concatenate[YamlText, _P], str],
) -> Callable[Concatenate[YamlText, _P], str]:
    """An edit's result written with the file's own line ends."""

    @functools.wraps(method)
    def edit(doc: YamlText, /, *args: _P.args, **kwargs: _P.kwargs) -> str:
        text = method(doc, *args, **kwargs)
        return _BARE_LF.sub("\r\n", text) if doc.crlf else text

    return edit


class YamlText:
    """The text of one YAML file and its round-trip tree."""

    def __init__(self, text: str, file: str) -> None:
        # a file written with CRLF is edited as LF and written back with CRLF
        self.crlf = "\r\n" in text
        text = text.replace("\r\n", "\n")
        self.text = text
        self.file = file
        self.indent: Indent = detect_indent(text)
        self.explicit_start = any(line == "---" for line in _head(text))
        self._yaml = make_yaml(self.indent, explicit_start=self.explicit_start)
        try:
            loaded = load_text(self._yaml, text)
        except YAMLError as exc:
            raise EditError(f"{file} is not valid YAML: {exc}") from exc
        except ValueError as exc:
            raise EditError(f"{file}: {exc}; edit this file as text") from exc
        self.root: Any = CommentedMap() if loaded is None else loaded
        self.lines = text.splitlines(keepends=True)
        if self.lines and not self.lines[-1].endswith("\n"):
            self.lines[-1] += "\n"

    # -- navigation ------------------------------------------------------------------

    def get(self, path: JsonPath) -> Any:
        """The node at `path` (EditError when there is none)."""
        node = self.root
        for step in path:
            if isinstance(node, dict) and isinstance(step, str) and step in node:
                node = node[step]
            elif (
                isinstance(node, list) and isinstance(step, int) and -len(node) <= step < len(node)
            ):
                node = node[step]
            else:
                where = ".".join(str(p) for p in path)
                raise EditError(f"{self.file} has no {where}")
        return node

    def has(self, path: JsonPath) -> bool:
        """True when a node exists at `path`."""
        try:
            self.get(path)
        except EditError:
            return False
        return True

    def plain(self) -> Any:
        """The file's data as plain dicts and lists."""
        return to_plain(self.root)

    # -- primitive edits ---------------------------------------------------------------

    @_keep_newlines
    def replace(self, path: JsonPath, value: Any) -> str:
        """Set the value at `path` (its parent must exist). A multi-line value is rewritten
        as lines (the entry's leading comments stay); others change on the tree."""
        *parent_path, last = path
        parent = self._container(tuple(parent_path))
        item = isinstance(parent, CommentedSeq)

        def mutate(root: Any, step: Any = last) -> None:
            node_at(root, tuple(parent_path))[step] = from_plain(value, item=item)

        if is_block(parent) and self.has(path) and is_block(self.get(path)):
            index = (
                seq_index(parent, last)
                if isinstance(parent, CommentedSeq)
                else list(parent).index(last)
            )
            span = spans(self.lines, parent)[index]
            key = None if item else str(last)
            rendered = self._render(key, value, span.col, item, isinstance(value, dict))
            text = "".join(self.lines[: span.line] + rendered + self.lines[span.end :])
            return self._checked(text, mutate)
        if not is_block(parent) and self.has(path):
            written = flow_value(make_yaml(self.indent), value, self.get(path))
            flow_text = replace_value(self._yaml, self.text, path, written)
            if flow_text is not None:
                return self._checked(flow_text, mutate, near=path)
        return self._tree(mutate, near=path)

    @_keep_newlines
    def delete(self, path: JsonPath) -> str:
        """Remove the entry at `path` with its leading comments."""
        *parent_path, last = path
        parent = self._container(tuple(parent_path))
        self.get(path)
        index = (
            list(parent).index(last)
            if isinstance(parent, CommentedMap)
            else seq_index(parent, last)
        )

        def mutate(root: Any) -> None:
            del node_at(root, tuple(parent_path))[last]

        if is_block(parent) and len(parent) >= 2:
            found = spans(self.lines, parent)
            cut_from = found[index - 1].end if index > 0 else found[0].lead
            cut_to = found[index].end
            if index == 0:
                while cut_to < found[1].lead and not self.lines[cut_to].strip():
                    cut_to += 1
            text = "".join(self.lines[:cut_from] + self.lines[cut_to:])
            return self._checked(text, mutate)
        if is_block(parent) and len(parent) == 1 and parent_path:
            return self.replace(tuple(parent_path), {} if isinstance(parent, CommentedMap) else [])
        if not is_block(parent):
            flow_text = delete_entry(self._yaml, self.text, tuple(parent_path), index)
            if flow_text is not None:
                return self._checked(flow_text, mutate, near=tuple(parent_path))
        return self._tree(mutate, near=tuple(parent_path))

    @_keep_newlines
    def insert(self, parent_path: JsonPath, index: int, key: str | None, value: Any) -> str:
        """Add an entry at position `index` of the collection at `parent_path` (a mapping
        needs `key`; a sequence takes none)."""
        parent = self._container(parent_path)
        if isinstance(parent, CommentedMap):
            if key is None:
                raise EditError(f"{dotted(parent_path)} is a mapping: name the key to add")
            if key in parent:
                raise EditError(f"{dotted((*parent_path, key))} exists already")
        elif key is not None:
            raise EditError(f"{dotted(parent_path)} is a list: it has no keys")
        index = max(0, min(index, len(parent)))

        def mutate(root: Any) -> None:
            target = node_at(root, parent_path)
            if isinstance(target, CommentedMap):
                target.insert(index, key, from_plain(value))
            else:
                target.insert(index, from_plain(value, item=True))

        if is_block(parent) and len(parent) > 0:
            found = spans(self.lines, parent)
            col = found[0].col
            siblings = parent.values() if isinstance(parent, CommentedMap) else parent
            block = any(is_block(sibling) for sibling in siblings)
            rendered = self._render(key, value, col, isinstance(parent, CommentedSeq), block)
            return self._paste(found, index, rendered, mutate)
        if not is_block(parent):
            written = flow_entry(make_yaml(self.indent), key, value)
            flow_text = insert_entry(self._yaml, self.text, parent_path, index, written)
            if flow_text is not None:
                return self._checked(flow_text, mutate, near=parent_path)
        return self._tree(mutate, near=parent_path)

    @_keep_newlines
    def move(self, path: JsonPath, to_parent: JsonPath, index: int) -> str:
        """Move an entry (with its comments and writing) to position `index` of the
        collection at `to_parent`: a list item into this or another list of the file, a
        mapping key within its own mapping (counted after it left its place)."""
        *parent_path, last = path
        source = self._container(tuple(parent_path))
        target = self._container(to_parent)
        same_map = isinstance(source, CommentedMap) and tuple(parent_path) == tuple(to_parent)
        lists = isinstance(source, CommentedSeq) and isinstance(target, CommentedSeq)
        if not (same_map or lists):
            raise EditError("list items move between lists; mapping keys within their mapping")
        key = str(last) if same_map else None
        value = to_plain(self.get(path))
        if is_block(source) and is_block(target) and len(source) >= 2:
            found = spans(self.lines, source)
            position = seq_index(source, last) if isinstance(source, CommentedSeq) else None
            span = found[list(source).index(last) if position is None else position]
            block = self.lines[span.lead : span.end]
            removed = YamlText(self.delete(path), self.file)
            moved = removed.get(to_parent)
            if len(moved) > 0 and is_block(moved):
                new_spans = spans(removed.lines, moved)
                rendered = reindent(block, new_spans[0].col - span.col)
                bounded = max(0, min(index, len(moved)))

                def mutate(root: Any) -> None:
                    if key is None:
                        node_at(root, to_parent).insert(bounded, from_plain(value, item=True))
                    else:
                        node_at(root, to_parent).insert(bounded, key, from_plain(value))

                return removed._paste(new_spans, bounded, rendered, mutate)
        removed = YamlText(self.delete(path), self.file)
        return removed.insert(to_parent, index, key, value)

    @_keep_newlines
    def rename(self, path: JsonPath, new: str) -> str:
        """Rename the mapping key at `path` in place (its position, value and comments stay)."""
        *parent_path, old = path
        parent = self._container(tuple(parent_path))
        if not isinstance(parent, CommentedMap) or not isinstance(old, str) or old not in parent:
            raise EditError(f"{self.file} has no key {dotted(path)}")
        if new in parent:
            raise EditError(f"{dotted((*parent_path, new))} exists already")
        line, col = parent.lc.key(old)
        written = self.lines[line][col:]
        rendered = plain_key(new)
        text: str | None = None
        for form in (old, f'"{old}"', f"'{old}'"):
            if written.startswith(form):
                changed = self.lines[line][:col] + rendered + written[len(form) :]
                text = "".join(self.lines[:line] + [changed] + self.lines[line + 1 :])
                break
        position = list(parent).index(old)

        def mutate(root: Any) -> None:
            target = node_at(root, tuple(parent_path))
            comment = target.ca.items.pop(old, None)
            item = target.pop(old)
            target.insert(position, new, item)
            if comment is not None:
                target.ca.items[new] = comment

        if text is None:
            return self._tree(mutate)
        return self._checked(text, mutate)

    # -- helpers -----------------------------------------------------------------------

    def _container(self, path: JsonPath) -> CommentedMap | CommentedSeq:
        node = self.get(path)
        if not isinstance(node, (CommentedMap, CommentedSeq)):
            raise EditError(
                f"{self.file}: {dotted(path) or 'the document'} is not a mapping or list"
            )
        return node

    def _render(self, key: str | None, value: Any, col: int, item: bool, block: bool) -> list[str]:
        """An entry written at column `col`; `block` writes its value in block style, like
        its siblings."""
        content = from_plain(value, item=item)
        if block and isinstance(content, (CommentedMap, CommentedSeq)):
            content.fa.set_block_style()
        return self._render_node(key, content, col, item)

    def _render_node(self, key: str | None, content: Any, col: int, item: bool) -> list[str]:
        node: Any = CommentedSeq([content]) if item else CommentedMap([(key, content)])
        node.fa.set_block_style()
        lines = dump(make_yaml(self.indent), node).splitlines(keepends=True)
        first = len(lines[0]) - len(lines[0].lstrip(" "))
        return reindent(reindent(lines, -first), col)

    def _paste(
        self, found: list[Span], index: int, block: list[str], mutate: Callable[[Any], None]
    ) -> str:
        gap = separator(self.lines, found)
        if index < len(found):
            at, pasted = found[index].lead, block + gap
        else:
            at, pasted = found[-1].end, gap + block
        text = "".join(self.lines[:at] + pasted + self.lines[at:])
        return self._checked(text, mutate)

    def _checked(
        self, text: str, mutate: Callable[[Any], None], *, near: JsonPath | None = None
    ) -> str:
        """`text` when it means the edit; otherwise the tree's result."""
        if reads(text, self.indent) == ordered(self._edited(mutate)):
            return text
        return self._tree(mutate, near=near)

    def _edited(self, mutate: Callable[[Any], None]) -> Any:
        # a fresh tree to change; the text's tags and anchors were refused when this object
        # was made, so it is loaded without a second pass over its events
        tree = round_trip_tree(self._yaml, self.text)
        tree = CommentedMap() if tree is None else tree
        mutate(tree)
        return tree

    def _tree(self, mutate: Callable[[Any], None], *, near: JsonPath | None = None) -> str:
        """The edit made on the tree and carried onto the text. With `near` (the path the
        edit changes) an edit inside a flow collection may instead rewrite just the block
        entry holding it; the candidate that changes fewer lines wins."""
        before = dump(self._yaml, self.root) if self.text.strip() else ""
        tree = self._edited(mutate)
        after = dump(self._yaml, tree)
        expected = ordered(tree)
        candidates = [splice("".join(self.lines), before, after)]
        if near is not None:
            local = self._entry_rewrite(tree, near)
            if local is not None:
                candidates.insert(0, local)
        # the valid candidate changing fewest lines wins: checked fewest-first, so the usual
        # case parses one candidate, not all (sorting is stable: ties keep their order)
        for candidate in sorted(candidates, key=self._changed_lines):
            if reads(candidate, self.indent) == expected:
                return candidate
        if reads(after, self.indent) == expected:
            return after
        raise EditError(
            f"{self.file}: this edit cannot be written safely here",
            hint="edit the file as text",
        )

    def _entry_rewrite(self, tree: Any, near: JsonPath) -> str | None:
        """The text with only the block entry that holds `near` rewritten from `tree`; None
        when there is no such entry or it carries comments (which would be lost)."""
        for depth in range(1, len(near) + 1):
            if not self.has(near[:depth]):
                return None
            parent, node = self.get(near[: depth - 1]), self.get(near[:depth])
            if is_block(parent) and not is_block(node):
                break
        else:
            return None
        step = near[depth - 1]
        item = isinstance(parent, CommentedSeq)
        index = seq_index(parent, step) if item else list(parent).index(step)
        span = spans(self.lines, parent)[index]
        if any("#" in line for line in self.lines[span.line : span.end]):
            return None
        content = node_at(tree, near[:depth])
        rendered = self._render_node(None if item else str(step), content, span.col, item)
        return "".join(self.lines[: span.line] + rendered + self.lines[span.end :])

    def _changed_lines(self, text: str) -> int:
        matcher = SequenceMatcher(None, self.lines, text.splitlines(keepends=True), autojunk=False)
        return sum(
            max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
        )


def _head(text: str) -> list[str]:
    """The lines before the first content line (comments, directives, `---`)."""
    head: list[str] = []
    for line in text.splitlines():
        head.append(line.rstrip())
        if line.strip() and not line.startswith(("#", "%", "---")):
            break
    return head

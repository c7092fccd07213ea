"""Where a draft names a role, and the edits that rename or drop those references.

A role's name appears in the role lists of the definition (grants' `roles`, workflow
transitions' `roles` and approvals, pages' `roles`, a detail block's history, `inherits`,
`auth.admin_roles`, `two_factor.required_for`, providers' `default_roles`), as a value of a
provider's `role_map`, as a key of a `roles:` mapping inside a section (a network
allow-list per role), as `role:<name>` in a notification's
recipients, and in the seed files' users. Each is a `RoleRef` with the edit that rewrites
it; a quoted name inside an expression (`'agent' in actor['roles']`) cannot be rewritten
safely and is reported as such, so a rename refuses with that reason.

Pure functions of the draft's plain data and files; the roles editor saves the operations
through `builder.editing`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from portalis.engine.definition.bundle import Bundle
from portalis.engine.definition.loader import match_files
from portalis.engine.definition.yamledit import BundleEdit, EditError, YamlText
from portalis.engine.definition.yamlsource import parse_text

from ..editing import Operation

#: Keys whose list values are role names.
ROLE_LIST_KEYS = frozenset({"roles", "inherits", "admin_roles", "default_roles", "required_for"})
_RECIPIENT = "role:"

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class RoleRef:
    """One place naming a role: its definition path (or `file` for a seed file), what kind
    of place it is, and whether it can be rewritten."""

    path: JsonPath
    kind: str
    file: str = ""
    safe: bool = True

    @property
    def where(self) -> str:
        """The dotted path, for display."""
        return ".".join(str(p) for p in self.path)

    @property
    def is_grant(self) -> bool:
        """True for a grant's `roles` list item (`entities.<e>.permissions.<i>.roles.<j>`)."""
        return (
            len(self.path) == 6
            and self.path[0] == "entities"
            and self.path[2] == "permissions"
            and self.path[4] == "roles"
        )


def _walk(node: Any, path: JsonPath, role: str) -> Iterator[RoleRef]:
    quoted = re.compile(r"""(['"])""" + re.escape(role) + r"\1")
    if isinstance(node, dict):
        for key, value in node.items():
            here = (*path, key)
            if key in ROLE_LIST_KEYS and isinstance(value, list):
                for index, item in enumerate(value):
                    if item == role:
                        yield RoleRef((*here, index), "list")
                continue
            if key == "role_map" and isinstance(value, dict):
                for source, target in value.items():
                    if target == role:
                        yield RoleRef((*here, source), "value")
                continue
            if key == "roles" and isinstance(value, dict):  # role → settings (allow-lists)
                if role in value:
                    yield RoleRef((*here, role), "key")
                continue
            yield from _walk(value, here, role)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, (*path, index), role)
    elif isinstance(node, str):
        if node == _RECIPIENT + role:
            yield RoleRef(path, "recipient")
        elif quoted.search(node):
            yield RoleRef(path, "expression", safe=False)


def seed_files(bundle: Bundle, data: Mapping[str, Any]) -> list[str]:
    """The bundle's seed files (the `seed:` patterns of the definition)."""
    patterns = data.get("seed") or []
    patterns = [patterns] if isinstance(patterns, str) else patterns
    found: list[str] = []
    for pattern in patterns:
        for name in match_files(bundle, str(pattern)) or []:
            if name not in found and name.endswith((".yaml", ".yml")):
                found.append(name)
    return found


def references(bundle: Bundle, data: Mapping[str, Any], role: str) -> list[RoleRef]:
    """Every place of the draft naming `role`, except its own `roles.<role>` entry."""
    found = [
        ref
        for key, value in data.items()
        if key != "roles" and key != "seed"
        for ref in _walk(value, (key,), role)
    ]
    roles = data.get("roles") or {}
    for name, spec in roles.items() if isinstance(roles, dict) else ():
        inherits = spec.get("inherits") if isinstance(spec, dict) else None
        for index, item in enumerate(inherits if isinstance(inherits, list) else []):
            if item == role and name != role:
                found.append(RoleRef(("roles", name, "inherits", index), "list"))
    for name in seed_files(bundle, data):
        # plain data is all this needs: the definition loader's parser, not the edit layer's
        # round-trip one (twenty times slower, and the roles page asks once per role)
        plain = parse_text(bundle.files[name], name).data
        users = plain.get("users") if isinstance(plain, dict) else None
        for i, user in enumerate(users if isinstance(users, list) else []):
            roles = user.get("roles") if isinstance(user, dict) else None
            for j, item in enumerate(roles if isinstance(roles, list) else []):
                if item == role:
                    found.append(RoleRef(("users", i, "roles", j), "seed", file=name))
    return found


def _splice(edit: BundleEdit, path: JsonPath, old: str, new: str) -> None:
    """Replace the scalar `old` at `path` by `new` in its line, leaving every other byte
    (a multi-line flow mapping keeps its lines); the tree edit when the text there is not
    the plain or double-quoted scalar; EditError when `path` no longer holds `old`."""
    pos = edit.position(path)
    text = edit.result().files[pos.file]
    lines = text.splitlines(keepends=True)
    line, col = pos.line - 1, pos.col - 1
    if 0 <= line < len(lines):
        current = lines[line]
        for written, wanted in ((old, new), (f'"{old}"', f'"{new}"')):
            end = col + len(written)
            if current[col:end] == written and not _NAME_CHAR.match(current[end : end + 1]):
                lines[line] = current[:col] + wanted + current[end:]
                edit.set_file(pos.file, "".join(lines))
                return
    file, local = edit.locate(path)
    if YamlText(edit.result().files[file], file).get(local) != old:
        # the draft changed since the references were found (a concurrent save)
        raise EditError(f"{'.'.join(map(str, path))} no longer names {old}")
    edit.set(path, new)


_NAME_CHAR = re.compile(r"[a-z0-9_:]")


def _rewrite(ref: RoleRef, old: str, new: str) -> Operation:
    if ref.kind == "seed":

        def seed(edit: BundleEdit) -> None:
            text = edit.result().files[ref.file]
            edit.set_file(ref.file, YamlText(text, ref.file).replace(ref.path, new))

        return seed
    if ref.kind == "key":
        return lambda edit: edit.rename(ref.path, new)
    if ref.kind == "recipient":
        return lambda edit: _splice(edit, ref.path, _RECIPIENT + old, _RECIPIENT + new)
    return lambda edit: _splice(edit, ref.path, old, new)


def rename_operations(refs: list[RoleRef], old: str, new: str) -> list[Operation]:
    """The edits renaming role `old` to `new`: its entry, then every reference (all must be
    `safe`)."""
    ops: list[Operation] = [lambda edit: edit.rename(("roles", old), new)]
    ops.extend(_rewrite(ref, old, new) for ref in refs)
    return ops


def _deleter(path: JsonPath) -> Operation:
    return lambda edit: edit.delete(path)


def removal_operations(
    refs: list[RoleRef], role: str, grants: Mapping[str, list[Any]]
) -> list[Operation]:
    """The edits removing `role` with its grants: a grant for this role alone goes, a
    shared grant loses the role from its list. `refs` must all be grant references;
    `grants` maps entity → its permissions list (plain data), for the shared check."""
    ops: list[Operation] = []
    # from the end, so the earlier list positions stay valid
    for ref in sorted(refs, key=lambda r: r.path, reverse=True):
        entity, index = str(ref.path[1]), int(ref.path[3])
        roles = grants[entity][index].get("roles") or []
        target: JsonPath = ref.path[:4] if len(roles) <= 1 else ref.path
        ops.append(_deleter(target))
    ops.append(lambda edit: edit.delete(("roles", role)))
    return ops

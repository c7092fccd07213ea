"""Semantic checks of the `roles:` section: reserved names, inheritance targets, cycles;
and the role closures the compiler keeps (each role with everything it inherits)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..builtins import SYSTEM_ROLE
from ..model import BUILTIN_ROLES
from .base import Ctx, suggest


def check_roles(ctx: Ctx) -> None:
    """Role names, inheritance targets and cycles."""
    roles = ctx.data.get("roles") or {}
    for name, role in roles.items():
        if name in (*BUILTIN_ROLES, SYSTEM_ROLE):
            ctx.add(
                "role-reserved",
                f"{name!r} is a built-in role",
                ("roles", name),
                "anonymous, authenticated and system exist in every portal; pick another name",
                key=True,
            )
        for i, parent in enumerate(role.get("inherits") or []):
            if parent not in ctx.roles:
                ctx.add(
                    "ref-unknown-role",
                    f"unknown role {parent!r}",
                    ("roles", name, "inherits", i),
                    suggest(parent, ctx.roles),
                )
        _check_assigns(ctx, roles, name, role)
    for name in sorted(role_cycles(roles)):
        if name in roles:
            ctx.add(
                "role-cycle",
                f"role {name!r} inherits itself",
                ("roles", name, "inherits"),
                "remove one inherits: entry of the cycle",
            )


def _check_assigns(ctx: Ctx, roles: dict[str, Any], name: str, role: dict[str, Any]) -> None:
    """`assigns:` names account roles: declared, not built in, not staff; and staff (who
    belong to no account) have no account users to give them to."""
    assigns = role.get("assigns") or []
    if assigns and role.get("staff"):
        ctx.add(
            "role-assigns-staff",
            f"staff role {name!r} belongs to no account and cannot assign roles",
            ("roles", name, "assigns"),
            "remove assigns: here; give it to an account role such as account_admin",
        )
    for i, given in enumerate(assigns):
        path = ("roles", name, "assigns", i)
        if given in BUILTIN_ROLES:
            ctx.add(
                "role-assigns-builtin",
                f"{given!r} is a built-in role and cannot be assigned",
                path,
                "every signed-in user already has it; name a declared role",
            )
        elif given not in roles:
            ctx.add("ref-unknown-role", f"unknown role {given!r}", path, suggest(given, ctx.roles))
        elif (roles.get(given) or {}).get("staff"):
            ctx.add(
                "role-assigns-staff-role",
                f"staff role {given!r} cannot be given by an account administrator",
                path,
                "staff roles are given by the portal's administrators only",
            )


def role_cycles(roles: dict[str, Any]) -> set[str]:
    """Roles that inherit themselves, found in one depth-first pass (linear in the roles)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cyclic: set[str] = set()
    for start in roles:
        if state.get(start):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(_parents(roles, start)))]
        state[start] = 1
        while stack:
            node, parents = stack[-1]
            parent = next(parents, None)
            if parent is None:
                state[node] = 2
                stack.pop()
            elif state.get(parent) == 1:
                path = [n for n, _ in stack]
                cyclic.update(path[path.index(parent) :])
            elif not state.get(parent) and parent in roles:
                state[parent] = 1
                stack.append((parent, iter(_parents(roles, parent))))
    return cyclic


def _parents(roles: dict[str, Any], name: str) -> list[str]:
    spec = roles.get(name) or {}
    return [p for p in spec.get("inherits") or [] if isinstance(p, str)]


def role_closures(roles: dict[str, Any]) -> dict[str, frozenset[str]]:
    """Each role with everything it inherits, memoized (cycles are reported elsewhere)."""
    memo: dict[str, frozenset[str]] = {}
    for start in roles:
        # iterative post-order: long inheritance chains cannot exhaust the stack
        stack: list[tuple[str, bool]] = [(start, False)]
        visiting: set[str] = set()
        while stack:
            node, expanded = stack.pop()
            if node in memo:
                continue
            if expanded:
                closure = {node}
                for parent in _parents(roles, node):
                    closure |= memo.get(parent, {parent})
                memo[node] = frozenset(closure)
                visiting.discard(node)
                continue
            if node in visiting:
                continue
            visiting.add(node)
            stack.append((node, True))
            stack.extend(
                (p, False) for p in _parents(roles, node) if p not in memo and p not in visiting
            )
    return memo

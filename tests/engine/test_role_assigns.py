"""`assigns:` on a role: the roles its holders give to their account's users — checked with
located problems, compiled onto the role, and deciding who manages an account's users."""

from __future__ import annotations

from pathlib import Path

from portalis.engine.accounts.account_roles import assignable_roles, managing_roles
from portalis.engine.deploy.validator import Checker

PORTAL = """\
format: portalis/v1
portal: assigning
title: Assigning
locales: [en]
roles:
  customer: {label: Customer}
  buyer: {label: Buyer, inherits: [customer]}
  account_admin:
    inherits: [customer]
    assigns: [customer, buyer, account_admin]
  owner: {inherits: [account_admin]}
  agent: {staff: true}
"""


def _problems(checker: Checker, folder: Path, roles: str) -> list[tuple[str, str, int, int]]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "portal.yaml").write_text(PORTAL + roles, encoding="utf-8")
    report = checker.check_dir(folder, env={}).report
    return [(p.code, p.message, p.line, p.col) for p in report.problems]


def test_assigns_compiles_and_is_inherited(portalis_checker: Checker, tmp_path: Path) -> None:
    result = portalis_checker.check_dir(_write(tmp_path), env={})
    assert result.report.problems == []
    model = result.model
    assert model is not None
    assert model.roles["account_admin"].assigns == ("customer", "buyer", "account_admin")
    # an owner inherits what an account administrator may give; customers give nothing
    assert assignable_roles(model, ["owner"]) == ("customer", "buyer", "account_admin")
    assert assignable_roles(model, ["buyer"]) == ()
    assert managing_roles(model) == {"account_admin", "owner"}


def _write(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "portal.yaml").write_text(PORTAL, encoding="utf-8")
    return folder


def test_unknown_builtin_and_staff_roles_are_refused_where_written(
    portalis_checker: Checker, tmp_path: Path
) -> None:
    roles = (
        "  lead:\n"
        "    assigns: [custmer, authenticated, agent]\n"
        "  supervisor: {staff: true, assigns: [customer]}\n"
    )
    found = _problems(portalis_checker, tmp_path / "bad", roles)
    codes = {code: (line, col) for code, _, line, col in found}
    assert set(codes) == {
        "ref-unknown-role", "role-assigns-builtin", "role-assigns-staff-role", "role-assigns-staff",
    }  # fmt: skip
    # each at its list item (line 14 of portal.yaml), the staff one at its assigns:
    assert codes["ref-unknown-role"][0] == 14
    assert codes["role-assigns-builtin"][0] == 14
    assert codes["role-assigns-staff-role"][0] == 14
    assert codes["ref-unknown-role"][1] < codes["role-assigns-builtin"][1]
    assert codes["role-assigns-staff"][0] == 15
    messages = dict((c, m) for c, m, _, _ in found)
    assert "custmer" in messages["ref-unknown-role"]


def test_assigns_must_be_a_list_of_role_names(portalis_checker: Checker, tmp_path: Path) -> None:
    found = _problems(portalis_checker, tmp_path / "shape", "  lead: {assigns: customer}\n")
    assert found and all(line == 13 for _, _, line, _ in found)

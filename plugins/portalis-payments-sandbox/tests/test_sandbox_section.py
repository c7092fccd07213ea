"""The `type: sandbox` entry of `payments.providers`: its options' schema, the `${ENV}`
rule for `secret`, the length check and the compiled `SandboxConfig`."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest
from portalis_payments_sandbox import SandboxConfig
from portalis_payments_sandbox.section import SANDBOX_SECTION
from sandbox_support import ENV, SECRET, SHOP

from portalis.api import Problem
from portalis.testing.portals import installed_checker

ENTRY = """      secret: ${SANDBOX_PAYMENTS_SECRET}
      settle_after_seconds: 1
"""


def problems(tmp_path: Path, entry: str, env: Mapping[str, str] | None = ENV) -> list[Problem]:
    """The problems of the shop definition with its sandbox entry's options replaced (`env`
    None: `${NAME}` references are left as written, as `portalis validate` in CI does)."""
    folder = tmp_path / "shop"
    shutil.copytree(SHOP, folder)
    root = folder / "portal.yaml"
    text = root.read_text(encoding="utf-8")
    assert ENTRY in text
    root.write_text(text.replace(ENTRY, entry), encoding="utf-8")
    return installed_checker().check_dir(folder, env=env).report.problems


def test_valid_entry(tmp_path: Path) -> None:
    assert problems(tmp_path, ENTRY) == []
    # all options, and the reference left as written (validation without the environment)
    every = "      secret: ${SANDBOX_PAYMENTS_SECRET}\n      tolerance_seconds: 60\n" \
            "      settle_after_seconds: 120\n"  # fmt: skip
    assert problems(tmp_path / "all", every, env=None) == []


def test_literal_secret_is_a_secret_literal_problem(tmp_path: Path) -> None:
    found = problems(tmp_path, f"      secret: {SECRET}\n")
    assert [(p.code, p.path) for p in found] == [
        ("secret-literal", ("payments", "providers", 0, "secret"))
    ]
    assert found[0].file == "portal.yaml" and found[0].line == 10
    assert "SECRET" in found[0].hint


def test_unknown_option_is_a_schema_problem(tmp_path: Path) -> None:
    found = problems(tmp_path, ENTRY + "      secrett: x\n")
    assert [p.code for p in found] == ["schema-unknown-key"]
    assert found[0].line == 12


@pytest.mark.parametrize(
    ("option", "code"),
    [
        ("tolerance_seconds: 5", "schema-format"),
        ("tolerance_seconds: fast", "schema-type"),
        ("settle_after_seconds: 0", "schema-format"),
        ("settle_after_seconds: 100000", "schema-format"),
    ],
)
def test_out_of_range_options_are_schema_problems(tmp_path: Path, option: str, code: str) -> None:
    found = problems(tmp_path, f"      secret: ${{SANDBOX_PAYMENTS_SECRET}}\n      {option}\n")
    assert [p.code for p in found] == [code]


def test_an_entry_without_a_secret_is_valid(tmp_path: Path) -> None:
    # the sandbox then signs with the installation's derived key (test_sandbox_derived_key)
    assert problems(tmp_path, "      settle_after_seconds: 1\n") == []


def test_short_secret_is_refused_when_known(tmp_path: Path) -> None:
    found = problems(tmp_path, ENTRY, env={"SANDBOX_PAYMENTS_SECRET": "short"})
    assert [(p.code, p.path) for p in found] == [
        ("schema-format", ("payments", "providers", 0, "secret"))
    ]
    assert "5 characters" in found[0].message and "openssl rand" in found[0].hint


def test_compiled_config() -> None:
    compiled = SANDBOX_SECTION.compiled({"secret": SECRET})
    assert compiled == SandboxConfig(secret=SECRET, tolerance_seconds=300, settle_after_seconds=30)
    tuned = SANDBOX_SECTION.compiled(
        {"secret": SECRET, "tolerance_seconds": 60, "settle_after_seconds": 5}
    )
    assert tuned == SandboxConfig(secret=SECRET, tolerance_seconds=60, settle_after_seconds=5)
    with pytest.raises(AttributeError):
        tuned.secret = "changed"  # type: ignore[misc]


def test_section_documentation() -> None:
    assert (SANDBOX_SECTION.place, SANDBOX_SECTION.name) == ("payment", "sandbox")
    assert SANDBOX_SECTION.secret_options == ("secret",)
    assert SANDBOX_SECTION.key == "payments.providers[type: sandbox]"
    assert all(prop.get("description") for prop in SANDBOX_SECTION.schema["properties"].values())

"""The gallery of invalid definitions: real mistakes, each with the problem it must produce.

Every folder under `gallery/` is a small, complete definition folder with one mistake that
implementers really make, plus `expect.yaml`:

    about: what the mistake is
    code: the stable problem code that must be reported
    file: the file the problem must point into (relative to the case folder)
    line: 1-based line
    col: 1-based column            (optional)
    path: JSON path, dotted        (optional)
    severity: error | warning      (optional, default error)
    hint_contains: text            (optional; the hint must contain it)
    env: {NAME: value}             (optional; the environment, default {})
    absent: [{code, path}]         (optional; problems that must NOT be reported)
    xfail_reason: text             (optional; a known engine bug, xfail-strict)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pay_provider
import pytest
import yaml

from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.deploy.validator import Checker
from portalis.engine.problems import CODES, Problem, Severity
from portalis.runtime import default_plugins
from portalis.testing.cli import invoke

ROOT = Path(__file__).resolve().parents[2]
GALLERY = Path(__file__).parent / "gallery"
CASES = sorted(p for p in GALLERY.iterdir() if (p / "expect.yaml").is_file())
EXPECT_KEYS = {
    "about", "code", "file", "line", "col", "path", "severity", "hint_contains", "env",
    "absent", "note", "xfail_reason",
}  # fmt: skip


def read_expect(case: Path) -> dict[str, Any]:
    data = yaml.safe_load((case / "expect.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict), case
    return data


def _params() -> list[Any]:
    params = []
    for case in CASES:
        expect = read_expect(case)
        marks = []
        if expect.get("xfail_reason"):
            # only a failed expectation counts as the known bug; a traceback still fails
            marks.append(
                pytest.mark.xfail(reason=expect["xfail_reason"], strict=True, raises=AssertionError)
            )
        params.append(pytest.param(case, expect, id=case.name, marks=marks))
    return params


@pytest.fixture(scope="module")
def checker() -> Checker:
    """The checker `portalis validate` uses (cases may use the first-party plugins' sections),
    with the tests' payment provider type `testpay`: the core ships none, and payable cases
    need one."""
    return Checker(default_plugins.plugin_manager(extra=[pay_provider]))


def matches(problem: Problem, expect: dict[str, Any]) -> bool:
    """True when `problem` is the one `expect` describes."""
    if (problem.code, problem.file, problem.line) != (
        expect["code"],
        expect["file"],
        expect["line"],
    ):
        return False
    if "col" in expect and problem.col != expect["col"]:
        return False
    if "path" in expect and problem.path_text != expect["path"]:
        return False
    return True


def listing(problems: list[Problem]) -> str:
    return "\n".join("  " + p.format() for p in problems) or "  (no problems)"


def test_gallery_is_large_and_well_formed() -> None:
    assert len(CASES) >= 45
    for case in CASES:
        expect = read_expect(case)
        assert set(expect) <= EXPECT_KEYS, (case.name, set(expect) - EXPECT_KEYS)
        assert expect["code"] in CODES, case.name
        assert isinstance(expect["line"], int) and expect["line"] >= 1, case.name
        assert (case / expect["file"]).is_file(), case.name
        assert (case / "portal.yaml").is_file() or (case / "portal.json").is_file(), case.name
        assert expect.get("severity", "error") in ("error", "warning"), case.name


@pytest.mark.parametrize(("case", "expect"), _params())
def test_gallery_case(checker: Checker, case: Path, expect: dict[str, Any]) -> None:
    checked = checker.check_dir(case, expect.get("env") or {})
    problems = list(checked.report.problems)
    for problem in problems:
        assert isinstance(problem, Problem)
        assert problem.code in CODES, problem.format()

    found = [p for p in problems if matches(p, expect)]
    where = f"{expect['file']}:{expect['line']}:{expect.get('col', '*')}"
    assert found, f"expected {expect['code']} at {where}; reported:\n{listing(problems)}"

    severity = Severity(expect.get("severity", "error"))
    assert any(p.severity is severity for p in found), listing(found)
    if "hint_contains" in expect:
        assert any(expect["hint_contains"] in p.hint for p in found), listing(found)
    if severity is Severity.ERROR:
        assert not checked.report.ok
        assert checked.model is None
    for unwanted in expect.get("absent") or []:
        extra = [
            p
            for p in problems
            if p.code == unwanted["code"] and p.path_text == unwanted.get("path", p.path_text)
        ]
        assert not extra, f"unexpected {unwanted}:\n{listing(extra)}"


def test_empty_section_in_portal_yaml_merges_with_included_files(checker: Checker) -> None:
    """`entities:` left empty in portal.yaml (regression: was reported as include-duplicate)."""
    bundle, _ = read_bundle(ROOT / "blueprints" / "b2c")
    files = dict(bundle.files)
    files["portal.yaml"] += "\nentities:\n  # the entities live in entities/*.yaml\n"
    checked = checker.check_bundle(Bundle.of(files), {})
    assert checked.report.ok, listing(checked.report.problems)


def test_gallery_reports_each_problem_once(checker: Checker) -> None:
    duplicates = []
    for case in CASES:
        expect = read_expect(case)
        seen: set[str] = set()
        for problem in checker.check_dir(case, expect.get("env") or {}).report.problems:
            if problem.format() in seen:
                duplicates.append(f"{case.name}: {problem.format()}")
            seen.add(problem.format())
    assert not duplicates, "\n".join(duplicates)


CLI_CASES = ["unknown-key-lable", "yaml-tab-indentation", "grant-unknown-role"]


@pytest.mark.parametrize("name", CLI_CASES)
def test_validate_cli_prints_gallery_problem(name: str) -> None:
    case = GALLERY / name
    expect = read_expect(case)
    assert "col" in expect and not expect.get("xfail_reason")
    result = invoke("validate", case)  # in the test process: test_cli_validate runs the script
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    location = f"{expect['file']}:{expect['line']}:{expect['col']}: {expect['code']}"
    assert location in output, output
    assert "invalid" in result.stdout

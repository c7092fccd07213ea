"""`portalis validate DIR`: exit codes 0/1/2, the problem line format and --json output.

The exit codes, the two streams and the environment are checked on the installed console
script (`validate`); the output details in the test process (`validate_here`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from portalis.testing.cli import CliResult, invoke

ROOT = Path(__file__).resolve().parents[2]
B2C = ROOT / "blueprints" / "b2c"
GALLERY = Path(__file__).parent / "gallery"
PORTALIS = Path(sys.executable).parent / "portalis"
#: `file:line:col: CODE message` (warnings carry `warning` before the code).
PROBLEM_LINE = re.compile(
    r"^(?P<file>[^:\s]+):(?P<line>\d+):(?P<col>\d+): (warning )?(?P<code>[a-z0-9-]+) "
)


def validate(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "PORTALIS_DISABLED_PLUGINS"}
    return subprocess.run(
        [str(PORTALIS), "validate", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, **(env or {})},
    )


def validate_here(*args: str | Path) -> CliResult:
    return invoke("validate", *args)


def test_valid_blueprint_exits_0_and_prints_ok() -> None:
    result = validate(B2C)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok" in result.stdout
    assert f"{B2C}: ok — 0 error(s), 0 warning(s)" in result.stdout
    assert result.stderr == ""


def test_invalid_definition_exits_1_with_located_problems() -> None:
    result = validate(GALLERY / "grant-unknown-role")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    lines = [m for line in result.stderr.splitlines() if (m := PROBLEM_LINE.match(line))]
    assert lines, result.stderr
    first = lines[0]
    assert first["code"] == "ref-unknown-role"
    assert (first["file"], first["line"], first["col"]) == ("entities/ticket.yaml", "14", "18")
    assert "did you mean 'customer'?" in result.stderr
    assert "(entities.ticket.permissions[0].roles[0])" in result.stderr
    assert "invalid — 1 error(s), 0 warning(s)" in result.stdout


def test_json_prints_one_json_object_per_problem() -> None:
    result = validate_here(GALLERY / "unknown-key-lable", "--json")
    assert result.returncode == 1
    assert result.stderr == ""
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert rows, result.stdout
    for row in rows:
        assert set(row) == {"code", "severity", "message", "file", "line", "col", "path", "hint"}
    assert {
        "code": "schema-unknown-key",
        "severity": "error",
        "file": "entities/ticket.yaml",
        "line": 3,
        "col": 5,
        "path": "entities.ticket.lable",
        "hint": "did you mean 'label'?",
    }.items() <= rows[0].items()


def test_json_for_a_valid_definition_prints_nothing_and_exits_0() -> None:
    result = validate_here(B2C, "--json")
    assert result.returncode == 0
    assert result.stdout.strip() == ""


def test_warnings_alone_exit_0() -> None:
    result = validate_here(GALLERY / "include-matches-nothing")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "portal.yaml:6:" in result.stdout
    assert "warning include-empty" in result.stdout
    assert "ok — 0 error(s), 1 warning(s)" in result.stdout


def test_env_reference_is_read_from_the_environment() -> None:
    case = GALLERY / "env-missing-oidc-secret"
    env = {k: v for k, v in os.environ.items() if k != "OIDC_SECRET"}
    missing = subprocess.run(
        [str(PORTALIS), "validate", str(case)], capture_output=True, text=True, env=env, timeout=120
    )
    assert missing.returncode == 1
    assert "env-missing" in missing.stderr
    assert validate(case, env={"OIDC_SECRET": "s3cret"}).returncode == 0


def test_missing_directory_exits_1_with_file_missing(tmp_path: Path) -> None:
    result = validate_here(tmp_path / "does-not-exist")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    assert "file-missing" in result.stderr
    assert "does not exist" in result.stderr


def test_folder_without_portal_yaml_exits_1(tmp_path: Path) -> None:
    (tmp_path / "entities.yaml").write_text("entities: {}\n")
    result = validate_here(tmp_path)
    assert result.returncode == 1
    assert "portal.yaml:1:1: file-missing" in result.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    no_argument = validate()
    assert no_argument.returncode == 2
    assert "Missing argument" in no_argument.stderr
    a_file = tmp_path / "portal.yaml"
    a_file.write_text("format: portalis/v1\n")
    file_instead_of_folder = validate(a_file)
    assert file_instead_of_folder.returncode == 2
    assert "Traceback" not in file_instead_of_folder.stderr
    unknown_option = validate(B2C, "--frobnicate")
    assert unknown_option.returncode == 2


def test_missing_directory_reports_one_located_problem(tmp_path: Path) -> None:
    """Regression: it used to print `<definition>:0:0: file-missing` plus 'no portal.yaml'."""
    result = validate_here(tmp_path / "does-not-exist")
    problems = [m for line in result.stderr.splitlines() if (m := PROBLEM_LINE.match(line))]
    assert len(problems) == 1, result.stderr
    assert int(problems[0]["line"]) >= 1, result.stderr


def test_unreadable_portal_yaml_is_not_also_reported_missing(tmp_path: Path) -> None:
    (tmp_path / "portal.yaml").write_bytes(b"\xff\xfe title: Acme\n")
    result = validate_here(tmp_path)
    assert result.returncode == 1
    assert "file-encoding" in result.stderr
    assert "has no portal.yaml" not in result.stderr, result.stderr

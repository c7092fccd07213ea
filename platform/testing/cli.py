"""Running `portalis` commands in tests, in this process or as the installed console script.

`invoke` runs a command through click's `CliRunner` in the test process: no interpreter start
and no imports to pay for, and the test process's cheap password hashing applies. The result
reads like a finished process (`returncode`, `stdout`, `stderr`); an exception the command
let escape is printed to `stderr` as a traceback with exit code 1, as the real process would.
`run_process` runs the console script in a subprocess, for the tests of the process boundary
(the entry point, exit codes, the two streams, the real environment).
"""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

#: The installed `portalis` console script next to the interpreter running the tests.
PORTALIS = Path(sys.executable).parent / "portalis"


@dataclass(frozen=True)
class CliResult:
    """What a command did: its exit code and the text of its two streams."""

    returncode: int
    stdout: str
    stderr: str


def invoke(
    *args: str | os.PathLike[str], env: Mapping[str, str] | None = None, stdin: str | None = None
) -> CliResult:
    """Run `portalis ARGS` in this process. Settings variables (`PORTALIS_*`) of the test
    process are hidden; `env` sets variables for the command's duration and `stdin` is what
    it reads (prompts)."""
    from portalis.runtime.cli import cli

    variables: dict[str, str | None] = {k: None for k in os.environ if k.startswith("PORTALIS_")}
    variables.update(env or {})
    result = CliRunner().invoke(
        cli, [str(a) for a in args], input=stdin, env=variables, prog_name="portalis"
    )
    stderr = result.stderr
    code = result.exit_code
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    if escaped and result.exc_info is not None:
        stderr += "".join(traceback.format_exception(*result.exc_info))  # what Python prints
        code = 1
    return CliResult(code, result.stdout, stderr)


def run_process(
    *args: str | os.PathLike[str],
    env: Mapping[str, str],
    stdin: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the installed `portalis` console script with exactly the environment `env`."""
    return subprocess.run(
        [str(PORTALIS), *map(str, args)],
        capture_output=True,
        text=True,
        input=stdin,
        env=dict(env),
        timeout=timeout,
    )

"""Packaging: `platform/` never shadows the stdlib, and wheels carry every module and data file."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLATFORM = ROOT / "platform"
PROJECT_FILES = ("setup.cfg", "setup.py", "pyproject.toml", "README.md", "MANIFEST.in")
# Build leftovers and editor/OS files: never package data.
IGNORED_DIRS = {"__pycache__"}
IGNORED_SUFFIXES = {".pyc", ".pyo", ".swp", ".orig", ".rej"}
# What `python -m build --no-isolation` says when the venv lacks the build backend.
UNMET_BACKEND = re.compile(r"(Missing|Unmet) dependencies")


def _source_files(platform: Path) -> list[PurePosixPath]:
    """Files under `platform` that belong in the wheel, relative to it."""
    found = []
    for path in sorted(platform.rglob("*")):
        rel = path.relative_to(platform)
        if not path.is_file() or IGNORED_DIRS & set(rel.parts):
            continue
        if path.suffix in IGNORED_SUFFIXES or any(p.startswith(".") for p in rel.parts):
            continue
        found.append(PurePosixPath(rel.as_posix()))
    return found


def _build_wheel(tmp_path: Path) -> Path:
    """Build a wheel from a snapshot of the project in `tmp_path/src`.

    Building from a copy leaves no build/ or egg-info in the checkout, and the wheel is
    compared with the snapshot, not with files that appeared while it was being built.
    """
    source = tmp_path / "src"
    source.mkdir()
    shutil.copytree(
        PLATFORM, source / "platform", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    for name in PROJECT_FILES:
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, source / name)
    outdir = tmp_path / "dist"
    build = [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir)]
    result = subprocess.run([*build, "--no-isolation", str(source)], capture_output=True, text=True)
    if result.returncode != 0 and UNMET_BACKEND.search(result.stdout + result.stderr):
        # The venv lacks the build backend pyproject.toml asks for (setuptools>=68, wheel):
        # let `build` install it into an isolated environment, as `pip install` does.
        result = subprocess.run([*build, str(source)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    wheels = sorted(outdir.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_stdlib_platform_not_shadowed() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import platform; print(platform.system())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "platform.system() returned nothing"
    assert not (PLATFORM / "__init__.py").exists(), "platform/ must stay a namespace portion"


@pytest.mark.slow
def test_wheel_contains_every_subpackage_and_data_file(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "portalis/__init__.py" not in names, "the namespace root must not get an __init__.py"
    expected = {f"portalis/{rel}" for rel in _source_files(tmp_path / "src" / "platform")}
    modules = {name for name in expected if name.endswith(".py")}
    data = expected - modules
    packages = {str(PurePosixPath(name).parent) for name in modules}
    missing_packages = sorted(p for p in packages if not any(n.startswith(p + "/") for n in names))
    assert not missing_packages, f"subpackages missing from the wheel: {missing_packages}"
    missing_modules = sorted(modules - names)
    assert not missing_modules, f"modules missing from the wheel: {missing_modules}"
    missing_data = sorted(data - names)
    assert not missing_data, (
        f"data files missing from the wheel (extend [options.package_data] in setup.cfg): "
        f"{missing_data}"
    )

"""Computes the package list: `platform/` is mapped onto the import name `portalis`.

`find:` in setup.cfg ignores `package_dir`, and a hand-written list silently drops new
subpackages from wheels, so the list is computed here.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        "portalis",
        *("portalis." + p for p in find_namespace_packages("platform", exclude=["*.__pycache__"])),
    ],
)

"""Package discovery over the folders ``pyproject.toml`` maps to tracereel's subpackages.

``[tool.setuptools.package-dir]`` names the top-level folders (``sdk/`` is ``tracereel.sdk``, ...).
setuptools' own discovery cannot put a folder's packages under another name, so without this
every new subpackage (``collector/ingest/``, ``evals/scorers/``) would also need an entry in a
package list. Here a subpackage is found by being a folder with an ``__init__.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import find_packages, setup

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 builds get tomli from build-system.requires
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent


def discover() -> list[str]:
    """Every package: each mapped folder's own name, then its subpackages under that name."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-dir"]
    packages: list[str] = []
    for name, folder in mapping.items():
        packages.append(name)
        packages += [f"{name}.{sub}" for sub in find_packages(str(ROOT / folder))]
    return packages


setup(packages=discover())

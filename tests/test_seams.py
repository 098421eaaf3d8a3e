"""Packages meet at their public fronts: no package imports another package's ``_private`` module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Folder -> the module it is installed as (pyproject's package-dir).
PACKAGES = {
    "tracereel": "tracereel",
    "sdk": "tracereel.sdk",
    "collector": "tracereel.collector",
    "replay": "tracereel.replay",
    "evals": "tracereel.evals",
    "dashboard": "tracereel.dashboard",
}
# Known offenders, each with the reason it is still here. Remove an entry when its import goes.
ALLOWED: set[str] = set()


def _module(path: Path) -> str:
    folder, *rest = path.relative_to(ROOT).with_suffix("").parts
    parts = [PACKAGES[folder], *rest]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _owner(imported: str) -> str | None:
    """The package that owns ``imported`` if it names a private module (``a.b._c.d`` -> ``a.b``), else None."""
    parts = imported.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


def _imports(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            # ``from pkg import _mod`` reaches a private module too (so does a private name: also refused).
            found += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return [name for name in found if name == "tracereel" or name.startswith("tracereel.")]


def reaches(importer: str, imported: str) -> bool:
    """Whether module ``importer`` importing ``imported`` reaches into another package's private module."""
    owner = _owner(imported)
    return owner is not None and importer != owner and not importer.startswith(owner + ".")


def offenders() -> set[str]:
    """Every ``importer -> imported`` pair in the packages that reaches into another package's privates."""
    out: set[str] = set()
    for folder in PACKAGES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            importer = _module(path)
            for name in _imports(path):
                if reaches(importer, name):
                    private = name.split(".")[: len(str(_owner(name)).split(".")) + 1]
                    out.add(f"{importer} -> {'.'.join(private)}")
    return out


def test_the_rule_tells_a_package_s_own_private_modules_from_another_s() -> None:
    assert not reaches("tracereel.cli.show", "tracereel.cli._traces")
    assert not reaches("tracereel.replay", "tracereel.replay._run")
    assert not reaches("tracereel.replay._batch", "tracereel.replay._run.replay")
    assert reaches("tracereel.cli.replay", "tracereel.replay._render")
    assert reaches("tracereel.collector.app", "tracereel.sdk._runtime")
    assert reaches("tracereel.replay._tape", "tracereel.cli._traces.read_trace")
    assert not reaches("tracereel.cli.show", "tracereel.traces")


def test_no_package_imports_another_package_s_private_module() -> None:
    assert offenders() - ALLOWED == set()


def test_the_allow_list_holds_only_imports_that_still_exist() -> None:
    assert ALLOWED - offenders() == set()

"""The collector's subpackages depend one way: api -> ingest -> control, query -> store (DESIGN.md, "Shape")."""

from __future__ import annotations

import ast
from pathlib import Path

import tracereel.collector

COLLECTOR = Path(tracereel.collector.__file__).parent
PREFIX = "tracereel.collector"

# What each part of the collector may import from the collector; its own part is always allowed.
# Top-level modules: settings (reads the store's default URL), app (wires all), server (runs the app). Literals shared
# with the clients (paths, media types, versions) come from tracereel.constants, outside.
# control is policy: redaction over plain values (ingest calls into it from the parse workers),
# and the keys and the audit log, which keep their rows in the store (the key ring reloads them,
# record_admin_action appends to the audit table), so control may import the store, and only it.
# monitors evaluates stored monitors through the metrics engine (query) and keeps their
# definitions, state and history in the store; the API serves them and the app runs them.
ALLOWED: dict[str, set[str]] = {
    "store": set(),
    "control": {"store"},
    "ingest": {"store", "control"},
    "query": {"store"},
    "monitors": {"query", "store"},
    # review keeps queues and verdicts in the store and reads their traces through query.
    "review": {"query", "store"},
    "api": {"control", "ingest", "monitors", "query", "review", "store", "settings"},
    "settings": {"store"},
    # app also runs the sealing of finished hours (query/hours.py) in a thread of its lifespan.
    "app": {"api", "ingest", "monitors", "query", "store", "settings", "control"},
    # server runs the app as a process: opens the store and the log, binds both ports, serves.
    "server": {"api", "app", "control", "ingest", "settings", "store"},
}


def _part(module: str) -> str:
    """``tracereel.collector.ingest.body`` -> ``ingest``; the package itself -> ``__init__``."""
    rest = module.removeprefix(PREFIX).lstrip(".")
    return rest.split(".")[0] if rest else "__init__"


def _imports(path: Path) -> set[str]:
    """Every ``tracereel.collector...`` module the file imports (at any depth, lazily or not)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: use absolute imports")
    return {name for name in found if name == PREFIX or name.startswith(PREFIX + ".")}


def test_every_part_imports_only_the_layers_below_it():
    wrong = []
    for path in sorted(COLLECTOR.rglob("*.py")):
        relative = path.relative_to(COLLECTOR)
        part = relative.parts[0].removesuffix(".py")
        if part == "__init__":
            continue  # the public front re-exports from every layer
        assert part in ALLOWED, f"{relative}: a new part of the collector; say what it may import in ALLOWED"
        for module in _imports(path):
            target = _part(module)
            if target == part or module in (PREFIX, f"{PREFIX}.{part}"):
                continue
            if target not in ALLOWED[part]:
                wrong.append(f"{relative} imports {module}")
    assert not wrong, "\n".join(wrong)

"""A collector process starts without importing what it may never use.

A parse worker loads what parsing needs, not the whole collector.
The pool spawns its workers (a fresh interpreter each), and each imports
``tracereel.collector.ingest.parsing`` and so its parent packages. Those import their public
names on first use: were they imported with the package, every worker (two per ``tracereel
serve`` on two cores) would load FastAPI, the read API and scipy before it could parse anything.
And the collector's app loads scipy (seconds) only when a comparison first needs it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import tracereel.collector
import tracereel.collector.ingest

# What a worker has no use for: the web framework, the read API's queries and their statistics.
_NOT_FOR_PARSING = ("fastapi", "uvicorn", "scipy", "tracereel.collector.api", "tracereel.collector.query")

_PROBE = """
import json, sys
import {module}
print(json.dumps(sorted(sys.modules)))
"""


def _loaded_by(module: str) -> list[str]:
    """The modules a fresh interpreter holds after importing ``module``."""
    probe = _PROBE.format(module=module)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_importing_the_parser_loads_neither_the_read_api_nor_fastapi() -> None:
    loaded = _loaded_by("tracereel.collector.ingest.parsing")
    assert "tracereel.collector.ingest.otlp" in loaded  # the probe did import the parser
    assert [m for m in loaded if m.startswith(_NOT_FOR_PARSING)] == []


def test_the_collector_app_loads_scipy_only_when_a_comparison_needs_it() -> None:
    loaded = _loaded_by("tracereel.collector.app")
    assert "tracereel.collector.query.stats" in loaded  # the probe did import the statistics
    assert [m for m in loaded if m.startswith("scipy")] == []


def test_the_packages_still_export_every_public_name() -> None:
    for package in (tracereel.collector, tracereel.collector.ingest):
        for name in package.__all__:
            assert getattr(package, name).__name__ == name, (package.__name__, name)

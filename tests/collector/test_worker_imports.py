"""A parse worker loads what parsing needs, not the whole collector.

The pool spawns its workers (a fresh interpreter each), and each imports
``tracereel.collector.ingest.parsing`` and so its parent packages. Those import their public
names on first use: were they imported with the package, every worker (two per ``tracereel
serve`` on two cores) would load FastAPI, the read API and scipy before it could parse anything.
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
import tracereel.collector.ingest.parsing
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_the_parser_loads_neither_the_read_api_nor_fastapi() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert "tracereel.collector.ingest.otlp" in loaded  # the probe did import the parser
    assert [m for m in loaded if m.startswith(_NOT_FOR_PARSING)] == []


def test_the_packages_still_export_every_public_name() -> None:
    for package in (tracereel.collector, tracereel.collector.ingest):
        for name in package.__all__:
            assert getattr(package, name).__name__ == name, (package.__name__, name)

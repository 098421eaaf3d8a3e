"""Helpers of the eval tests: the CLI in process, a golden case from a recorded run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from tracereel.cli import main


def cli(*args: str) -> Result:
    """Run ``tracereel ARGS`` in process; stdout and stderr apart."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def golden_from_recording(path: Path, recorder: Any, agents: Any, **add: str) -> str:
    """Record ``handle`` into the collector and add it to the dataset at ``path``; the trace id."""
    trace_id = recorder.record("refunds", agents.handle, ticket="my order B2 never arrived")
    args = [x for k, v in add.items() for x in (f"--{k}", v)]
    result = cli("dataset", "add", str(path), trace_id, "--collector", recorder.url, *args)
    assert result.exit_code == 0, result.output
    return trace_id

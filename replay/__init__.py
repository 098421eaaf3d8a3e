"""Deterministic replay of recorded agent runs.

    from tracereel.replay import replay_file

    def test_refund_flow_still_reproduces():
        report = replay_file("tests/traces/refund.json")
        assert report.reproduced, report.summary()

A replay calls the recorded entry point with the recorded input; every ``@tool`` and ``@llm``
boundary returns the recorded result (or re-raises the recorded exception) without running its
body. ``replay_all`` replays the newest traces of a collector (a CI gate); ``tracereel.replay.render``
prints reports in a terminal. See docs/replay.md.
"""

from __future__ import annotations

from tracereel.replay._batch import BatchReport, replay_all
from tracereel.replay._engine import FAULTS, InjectedFault, ReplayDiverged, ReplayOptions
from tracereel.replay._entrypoint import load_entrypoint
from tracereel.replay._options import parse_faults, parse_live, parse_override, parse_overrides
from tracereel.replay._report import DIVERGENCE_KINDS, Divergence, ReplayReport
from tracereel.replay._run import replay, replay_file
from tracereel.replay._sdk import DiscardExporter, discard_unless_configured
from tracereel.replay._source import default_collector, export_trace, fetch_trace, list_traces, load_file
from tracereel.replay._tape import CannotReplay, Tape

__all__ = [
    "DIVERGENCE_KINDS",
    "FAULTS",
    "BatchReport",
    "CannotReplay",
    "DiscardExporter",
    "Divergence",
    "InjectedFault",
    "ReplayDiverged",
    "ReplayOptions",
    "ReplayReport",
    "Tape",
    "default_collector",
    "discard_unless_configured",
    "export_trace",
    "fetch_trace",
    "list_traces",
    "load_entrypoint",
    "load_file",
    "parse_faults",
    "parse_live",
    "parse_override",
    "parse_overrides",
    "replay",
    "replay_all",
    "replay_file",
]

"""Evaluation on replay: golden sets run against recorded tool results, scored, gated and kept as history.

    import tracereel.evals

    def test_golden_set():
        report = tracereel.evals.run("tests/golden.yaml")
        assert report.gate.passed, report.gate.reasons

See docs/evals.md. The types every part shares are in :mod:`tracereel.evals.model`.
"""

from tracereel.evals.api import run
from tracereel.evals.dataset import DatasetError, add_case, coverage, load_dataset
from tracereel.evals.model import Case, CaseResult, CaseRun, Dataset, EvalReport, GateResult, Score, Scorer
from tracereel.evals.report import apply_gates, write_junit
from tracereel.evals.runner import RunOptions, evaluate

__all__ = [
    "Case",
    "CaseResult",
    "CaseRun",
    "Dataset",
    "DatasetError",
    "EvalReport",
    "GateResult",
    "RunOptions",
    "Score",
    "Scorer",
    "add_case",
    "apply_gates",
    "coverage",
    "evaluate",
    "load_dataset",
    "run",
    "write_junit",
]

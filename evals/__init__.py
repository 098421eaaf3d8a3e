"""Evaluation on replay: golden sets run against recorded tool results, scored, gated and kept as history.

See docs/evals.md. The types every part shares are in :mod:`tracereel.evals.model`.
"""

from tracereel.evals.model import Case, CaseResult, CaseRun, Dataset, EvalReport, GateResult, Score, Scorer

__all__ = ["Case", "CaseResult", "CaseRun", "Dataset", "EvalReport", "GateResult", "Score", "Scorer"]

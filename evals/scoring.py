"""Scoring one case run into a report row, and the agreement of repeated runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from tracereel.evals.model import CaseResult, CaseRun, Score
from tracereel.evals.planning import Plan
from tracereel.sdk.hooks import to_json

__all__ = ["consistency", "score_run"]


def score_run(plan: Plan, run: CaseRun, repeat: int) -> CaseResult:
    scores: dict[str, bool | float] = {}
    reasons: dict[str, str] = {}
    methods: dict[str, str] = {}
    failed: list[str] = []
    passed = True
    error = run.divergence or run.error
    if run.divergence is None and not (run.error or "").startswith("cannot replay"):
        for scorer in plan.scorers:
            score: Score = scorer(run)
            scores[score.name] = score.value
            reasons[score.name] = score.reason
            if score.method:
                methods[score.name] = score.method
            if not score.passed:
                failed.append(score.name)
                passed = False
    if error is not None:
        passed = False
    return CaseResult(
        id=plan.case.id,
        variant=plan.case.variant,
        passed=passed,
        output=run.output,
        scores=scores,
        reasons=reasons,
        error=error,
        trace_id=run.trace_id,
        tags=dict(plan.case.tags),
        methods=methods,
        repeat=repeat,
        failed=failed,
    )


def consistency(results: Sequence[CaseResult]) -> list[dict[str, Any]]:
    """Per case and variant over its repeats: how many runs passed and how often the output was the same."""
    groups: dict[tuple[str, str | None], list[CaseResult]] = {}
    for result in results:
        groups.setdefault((result.id, result.variant), []).append(result)
    out: list[dict[str, Any]] = []
    for (case_id, variant), runs in groups.items():
        outputs = Counter(to_json(r.output) if r.error is None else f"error:{r.error}" for r in runs)
        out.append(
            {
                "id": case_id,
                "variant": variant,
                "runs": len(runs),
                "passed": sum(1 for r in runs if r.passed),
                "distinct_outputs": len(outputs),
                "agreement": round(outputs.most_common(1)[0][1] / len(runs), 4),
            }
        )
    return out

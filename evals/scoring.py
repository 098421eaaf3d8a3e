"""Scoring one case run into a report row, and the agreement of repeated runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from tracereel.contracts.evals import Consistency
from tracereel.evals.model import CaseResult, CaseRun, Score
from tracereel.evals.planning import Plan
from tracereel.sdk.hooks import to_json

__all__ = ["consistency", "score_run"]


def score_run(plan: Plan, run: CaseRun, repeat: int) -> CaseResult:
    """The report's row of one case run: ``skipped`` when the variant could not apply (no scores),
    else every scorer's verdict; a run that diverged or could not run fails every scorer, so the
    means of the scores count the same case runs as the pass rate."""
    case = plan.case
    if run.skipped is not None:
        return CaseResult(
            id=case.id,
            variant=case.variant,
            status="skipped",
            passed=False,
            skip_reason=run.skipped,
            output=None,
            trace_id=run.trace_id,
            tags=dict(case.tags),
            repeat=repeat,
        )
    scores: dict[str, bool | float] = {}
    reasons: dict[str, str] = {}
    methods: dict[str, str] = {}
    failed: list[str] = []
    error = run.divergence or run.error
    unscored = (
        "not scored: the run diverged from its recording"
        if run.divergence is not None
        else "not scored: the case could not run"
        if (run.error or "").startswith("cannot replay")
        else None
    )
    for scorer in plan.scorers:
        if unscored is not None:
            scores[scorer.name], reasons[scorer.name] = False, unscored
            failed.append(scorer.name)
            continue
        score: Score = scorer(run)
        scores[score.name] = score.value
        reasons[score.name] = score.reason
        if score.method:
            methods[score.name] = score.method
        if not score.passed:
            failed.append(score.name)
    passed = not failed and error is None
    return CaseResult(
        id=case.id,
        variant=case.variant,
        status="passed" if passed else "failed",
        passed=passed,
        output=run.output,
        scores=scores,
        reasons=reasons,
        error=error,
        trace_id=run.trace_id,
        tags=dict(case.tags),
        methods=methods,
        repeat=repeat,
        failed=failed,
    )


def consistency(results: Sequence[CaseResult]) -> list[Consistency]:
    """Per case and variant over its tested repeats: how many passed and how often the output was the same."""
    groups: dict[tuple[str, str | None], list[CaseResult]] = {}
    for result in results:
        if result.status != "skipped":
            groups.setdefault((result.id, result.variant), []).append(result)
    out: list[Consistency] = []
    for (case_id, variant), runs in groups.items():
        outputs = Counter(to_json(r.output) if r.error is None else f"error:{r.error}" for r in runs)
        out.append(
            Consistency(
                id=case_id,
                variant=variant,
                runs=len(runs),
                passed=sum(1 for r in runs if r.passed),
                distinct_outputs=len(outputs),
                agreement=round(outputs.most_common(1)[0][1] / len(runs), 4),
            )
        )
    return out

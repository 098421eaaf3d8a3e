"""Eval reports built with the contract models, as ``tracereel eval`` uploads them (collector, dashboard)."""

from __future__ import annotations

from typing import Any

from tracereel.contracts.evals import CaseResult, EvalReport, GateResult

__all__ = ["CASES", "report"]

# (id, tags) of the golden set every report here is a run of.
CASES: tuple[tuple[str, dict[str, str]], ...] = (
    ("refund-lost-order", {"topic": "refunds", "style": "terse", "persona": "customer"}),
    ("refund-over-limit", {"topic": "refunds", "style": "polite", "persona": "customer"}),
    ("order-status", {"topic": "orders", "style": "terse", "persona": "agent"}),
    ("cancel-order", {"topic": "orders", "style": "angry", "persona": "customer"}),
)


def report(
    run_id: str,
    *,
    dataset: str = "support-golden",
    started_at: str = "2025-05-01T10:00:00+00:00",
    failing: tuple[str, ...] = (),
    trace_ids: dict[str, str] | None = None,
    baseline: str | None = None,
) -> dict[str, Any]:
    """The JSON of a run over :data:`CASES` where the cases in ``failing`` fail."""
    cases = []
    for case_id, tags in CASES:
        passed = case_id not in failing
        judge = 0.9 if passed else 0.2
        cases.append(
            CaseResult(
                id=case_id,
                variant=None,
                status="passed" if passed else "failed",
                passed=passed,
                output=f"answer to {case_id}",
                scores={"exact": passed, "llm_judge": judge},
                reasons={"exact": "" if passed else "expected 'refunded 40 EUR'", "llm_judge": f"judged {judge}"},
                error=None,
                trace_id=(trace_ids or {}).get(case_id),
                tags=tags,
                methods={"llm_judge": "fallback:token-overlap"},
                failed=[] if passed else ["exact"],
            )
        )
    passed_count = sum(c.passed for c in cases)
    regressions = list(failing) if baseline else []
    return EvalReport(
        run_id=run_id,
        dataset=dataset,
        started_at=started_at,
        pass_rate=passed_count / len(cases),
        scores={
            "exact": passed_count / len(cases),
            "llm_judge": sum(float(c.scores["llm_judge"]) for c in cases) / len(cases),
        },
        cases=cases,
        baseline={"run_id": baseline} if baseline else None,
        regressions=regressions,
        gate=GateResult(passed=not failing, reasons=["pass rate below 1.0"] if failing else []),
        agent="support.agent:handle",
        options={"tools": "tape", "llm": "tape"},
        seconds=1.25,
    ).model_dump(mode="json")

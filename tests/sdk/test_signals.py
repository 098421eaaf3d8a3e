"""Guardrails, escalations, outcomes, scores and plans."""

from __future__ import annotations

import json

import tracereel
from tracereel import semconv as sc


def test_signals_land_on_the_right_spans(spans):
    @tracereel.agent(name="refunds")
    def refunds(amount: int) -> str:
        tracereel.plan(["check policy", "refund"])
        tracereel.score("groundedness", 0.25)
        tracereel.set_outcome(amount < 100)  # a sub-agent decides the task's outcome
        return "ok"

    @tracereel.agent(name="supervisor")
    def supervisor(amount: int) -> str:
        allowed = tracereel.guardrail("amount_limit", amount < 100, reason=f"amount {amount}")
        if not allowed:
            tracereel.escalate("refund above limit")
        return refunds(amount)

    supervisor(250)
    assert tracereel.flush()
    by_name = {s.name: s for s in spans.get_finished_spans()}
    root = by_name["invoke_agent supervisor"]
    assert root.attributes[sc.TASK_SUCCESS] is False
    guard = by_name["guardrail amount_limit"]
    assert guard.attributes[sc.GUARDRAIL_VERDICT] == "violation"
    assert guard.attributes[sc.GUARDRAIL_REASON] == "amount 250"
    assert guard.parent.span_id == root.context.span_id
    escalation = by_name["escalate human"]
    assert escalation.attributes[sc.ESCALATION] is True
    assert escalation.attributes[sc.ESCALATION_REASON] == "refund above limit"
    assert escalation.attributes[sc.HANDOFF_TARGET_TYPE] == "human"
    sub = by_name["invoke_agent refunds"]
    assert json.loads(sub.attributes[sc.PLAN_STEPS]) == ["check policy", "refund"]
    assert sub.attributes[sc.GROUNDEDNESS] == 0.25


def test_passing_guardrail_and_other_scores(spans):
    @tracereel.agent
    def answer() -> None:
        assert tracereel.guardrail("toxicity", True) is True
        tracereel.score("helpfulness", 4)
        tracereel.score("groundedness", 1.7)  # out of range: ignored with a warning

    answer()
    assert tracereel.flush()
    by_name = {s.name: s for s in spans.get_finished_spans()}
    assert by_name["guardrail toxicity"].attributes[sc.GUARDRAIL_VERDICT] == "pass"
    attrs = by_name["invoke_agent answer"].attributes
    assert attrs["tracereel.score.helpfulness"] == 4.0
    assert sc.GROUNDEDNESS not in attrs


def test_signals_outside_any_agent_do_nothing_and_do_not_raise(spans, caplog):
    tracereel.set_outcome(True)
    tracereel.score("groundedness", 0.9)
    tracereel.plan(["a"])
    tracereel.record_usage(1, 2)
    assert tracereel.flush()
    assert spans.get_finished_spans() == ()
    assert "outside any @agent call" in caplog.text

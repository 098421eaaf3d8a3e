"""A small agent system instrumented with the tracereel SDK, for the dashboard tests.

A ``support`` supervisor in two versions (stable ``1.4.0``, canary ``1.5.0``) plans, checks its
input with a guardrail, hands the ticket to a ``billing`` sub-agent that calls a (fake) LLM and
tools, retries a timed-out tool, sometimes escalates to a human, and records outcome and
groundedness. The numbers it produces are fixed by ``run_workload``'s arguments (no randomness).
"""

from __future__ import annotations

import time
from typing import Any

import tracereel

__all__ = ["TASKS", "run_workload"]

TASKS = 12  # tasks per run_workload call: 8 on the stable version, 4 on the canary


class ToolTimeout(TimeoutError):
    """The fake invoice service timing out."""


_flaky: dict[str, int] = {}


@tracereel.tool
def lookup_invoice(invoice_id: str) -> dict[str, Any]:
    """Fake invoice service: the first call for an id ending in 7 times out."""
    time.sleep(0.01)  # the service's own latency, so spans have durations to chart (not a wait)
    if invoice_id.endswith("7") and not _flaky.get(invoice_id):
        _flaky[invoice_id] = 1
        raise ToolTimeout(f"invoice service timed out for {invoice_id}")
    return {"invoice": invoice_id, "amount": 120.0 if invoice_id.endswith("3") else 42.5, "currency": "EUR"}


@tracereel.tool
def issue_refund(invoice_id: str, amount: float) -> dict[str, Any]:
    """Fake refund API."""
    if amount > 100:
        raise ValueError(f"refund of {amount} needs approval")
    return {"refund": f"R-{invoice_id}", "status": "issued"}


@tracereel.llm(model="gpt-4o-mini", provider="openai")
def decide(messages: list[dict[str, str]]) -> dict[str, Any]:
    """Fake LLM: decides to refund; reports token usage like a provider would."""
    time.sleep(0.03)  # the model's own latency, so spans have durations to chart (not a wait)
    tracereel.record_usage(input_tokens=850 + 10 * len(messages), output_tokens=120)
    return {"role": "assistant", "content": "Refund the invoice.", "tool_calls": [{"name": "issue_refund"}]}


@tracereel.agent(name="billing", version="2.3.1")
def billing(ticket: dict[str, Any]) -> dict[str, Any]:
    """Look the invoice up (retrying a timeout), ask the model, refund."""
    try:
        invoice = lookup_invoice(ticket["invoice"])
    except ToolTimeout:
        invoice = lookup_invoice(ticket["invoice"])
    decide([{"role": "user", "content": ticket["text"]}, {"role": "tool", "content": str(invoice)}])
    try:
        return issue_refund(ticket["invoice"], invoice["amount"])
    except ValueError:
        tracereel.escalate("refund over the approval limit")
        return {"status": "escalated"}


def _support(ticket: dict[str, Any]) -> dict[str, Any]:
    tracereel.plan(["check input", "delegate to billing", "answer"])
    if not tracereel.guardrail("input_pii", passed="card" not in ticket["text"], reason="card number in ticket"):
        tracereel.set_outcome(False)
        return {"status": "refused"}
    result = billing(ticket)
    tracereel.score("groundedness", 0.9 if result.get("status") == "issued" else 0.3)
    tracereel.set_outcome(result.get("status") == "issued")
    return result


support_stable = tracereel.agent(name="support", version="1.4.0")(_support)
support_canary = tracereel.agent(name="support", version="1.5.0")(_support)


def run_workload(seed: int = 0) -> None:
    """Run ``TASKS`` tasks (invoice ids vary with ``seed``)."""
    _flaky.clear()
    for i in range(TASKS):
        invoice = f"INV-{seed}{i:02d}"
        text = "my card 4111 was charged twice" if i % 6 == 5 else f"please refund invoice {invoice}"
        agent = support_canary if i % 3 == 2 else support_stable
        agent({"invoice": invoice, "text": text})

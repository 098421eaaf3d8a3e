"""The demo's agents: a supervisor that routes requests to domain specialists.

Entry points (importable, so replay can re-run a recorded trace):

- ``tracereel.demo.agents:supervisor`` (version 1.4.0, stable) and
  ``tracereel.demo.agents:supervisor_canary`` (1.5.0-rc.1): screen the request, route it
  with an LLM to the ``billing``, ``tech_support``, ``travel`` or ``research`` specialist
  (a sub-agent handoff), check the reply for personal data, grade its groundedness with an
  LLM judge and record the outcome. The canary differs only in its :data:`POLICIES`: fewer
  retries, a cheaper billing model, no loop guard, and a refund check that expects a field
  the invoice API does not return for foreign-currency invoices (it crashes on them).
- ``tracereel.demo.agents:research_assistant`` (0.9.2): the same flow with one specialist.

Agents decide only from their input and what their LLMs and tools return, so a replay that
serves those back makes the same decisions.
"""

from __future__ import annotations

import json
import re
from typing import Any

import tracereel
from tracereel.demo.llm import RateLimitError, chat
from tracereel.demo.tools import TOOLS

__all__ = [
    "POLICIES",
    "billing_agent",
    "research_agent",
    "research_assistant",
    "supervisor",
    "supervisor_canary",
    "tech_support_agent",
    "travel_agent",
]

Policy = dict[str, Any]

POLICIES: dict[str, Policy] = {
    "stable": {
        "router_model": "gpt-4o-mini",
        "judge_model": "gpt-4o-mini",
        "models": {
            "billing": "gpt-4o",
            "tech_support": "claude-3-5-sonnet",
            "travel": "gpt-4o-mini",
            "research": "acme-llama-3.1-70b-ft",
        },
        "max_attempts": 3,  # a tool that times out or answers 503 is tried up to 3 times
        "max_steps": 8,
        "loop_guard": True,  # stop and hand over after the same call three times in a row
        "refund_limit_usd": 500.0,
        "invoice_schema": "v1",
    },
    "canary": {
        "router_model": "gpt-4o-mini",
        "judge_model": "gpt-4o-mini",
        "models": {
            "billing": "gpt-4o-mini",
            "tech_support": "claude-3-5-sonnet",
            "travel": "gpt-4o-mini",
            "research": "acme-llama-3.1-70b-ft",
        },
        "max_attempts": 2,
        "max_steps": 6,
        "loop_guard": False,
        "refund_limit_usd": 500.0,
        "invoice_schema": "v2",
    },
}

_PROMPTS = {
    "router": "Classify the customer's request as billing, tech_support, travel or research. Reply with JSON.",
    "judge": "Rate how well the answer is supported by the evidence, 0..1. Reply with JSON.",
    "billing": "You are Acme's billing specialist. Look up the account, explain charges, refund duplicates.",
    "tech_support": "You are Acme's support engineer. Search the knowledge base, diagnose devices, open tickets.",
    "travel": "You are Acme's travel desk. Find the cheapest flight that matches and book it.",
    "research": "You are a research assistant. Search the web, read the best sources, cite them.",
}
_ROLE_TOOLS = {
    "billing": ["lookup_customer", "get_invoice", "issue_refund"],
    "tech_support": ["search_kb", "run_diagnostic", "create_ticket"],
    "travel": ["search_flights", "book_flight"],
    "research": ["web_search", "fetch_page"],
}
# Tools whose failure the specialist works around instead of giving up.
_TOLERATED = {"fetch_page", "run_diagnostic"}
_RETRYABLE = (TimeoutError, ConnectionError)
_INJECTION = re.compile(r"ignore (all |any )?(previous|prior) instructions", re.IGNORECASE)
_CARD = re.compile(r"\b\d{4}-\d{4}-\d{4}-\d{4}\b")
_EUR_USD = 1.08


def _system(role: str) -> dict[str, str]:
    return {"role": "system", "content": f"agent={role}\n{_PROMPTS[role]}"}


def _ask(model: str, messages: list[dict[str, Any]], tools: list[str] | None = None) -> dict[str, Any]:
    """One LLM turn; a rate-limited request is sent again, unchanged, once."""
    try:
        reply = chat(model, messages, tools)
    except RateLimitError:
        reply = chat(model, messages, tools)
    return reply["choices"][0]["message"]


def _call_tool(name: str, args: dict[str, Any], max_attempts: int) -> Any:
    """Run a tool, retrying timeouts and 503s with the same arguments."""
    for attempt in range(max_attempts):
        try:
            return TOOLS[name](**args)
        except _RETRYABLE:
            if attempt == max_attempts - 1:
                raise
    raise AssertionError("unreachable")


def _refund_usd(invoice: dict[str, Any], amount: float, policy: Policy) -> float:
    if invoice.get("currency", "USD") == "USD":
        return amount
    if policy["invoice_schema"] == "v2":
        # The canary's regression: invoice API v2 adds amount_usd, but production still runs v1.
        return float(invoice["amount_usd"])
    return round(amount * _EUR_USD, 2)


def _work(role: str, task: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """The specialist loop: ask the LLM, run the tools it asks for, until it answers."""
    model = policy["models"][role]
    messages: list[dict[str, Any]] = [
        _system(role),
        {"role": "user", "content": f"customer {task['customer_id']}: {task['message']}"},
    ]
    evidence: list[dict[str, Any]] = []
    calls: list[tuple[str, str]] = []
    for _ in range(policy["max_steps"]):
        message = _ask(model, messages, _ROLE_TOOLS[role])
        if not message.get("tool_calls"):
            return {"status": "done", "answer": message["content"], "evidence": evidence}
        messages.append(message)
        for call in message["tool_calls"]:
            name, raw_args = call["function"]["name"], call["function"]["arguments"]
            args = json.loads(raw_args)
            if name == "issue_refund":
                invoices = [e["result"] for e in evidence if e["tool"] == "get_invoice"]
                amount = _refund_usd(invoices[0] if invoices else {}, args["amount_usd"], policy)
                limit = policy["refund_limit_usd"]
                within = amount <= limit
                reason = None if within else f"refund ${amount:.2f} is over the ${limit:.0f} limit"
                if not tracereel.guardrail("refund_limit", within, reason):
                    return {"status": "needs_human", "reason": f"refund of ${amount:.2f} needs approval"}
            try:
                result = _call_tool(name, args, policy["max_attempts"])
            except Exception as exc:
                if name not in _TOLERATED:
                    return {"status": "failed", "reason": f"{name} failed: {type(exc).__name__}: {exc}"}
                result = {"error": f"{type(exc).__name__}: {exc}"}
            else:
                evidence.append({"tool": name, "result": result})
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result, sort_keys=True)})
            calls.append((name, raw_args))
            if policy["loop_guard"] and len(calls) >= 3 and len(set(calls[-3:])) == 1:
                return {"status": "needs_human", "reason": f"{name} gave the same answer three times in a row"}
    return {"status": "failed", "reason": f"no answer within {policy['max_steps']} steps"}


@tracereel.agent(name="billing", version="2.3.1")
def billing_agent(task: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """Billing specialist: accounts, invoices, refunds (refunds over the limit need a human)."""
    return _work("billing", task, policy)


@tracereel.agent(name="tech_support", version="3.0.4")
def tech_support_agent(task: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """Tech-support specialist: knowledge base, device diagnostics, tickets."""
    return _work("tech_support", task, policy)


@tracereel.agent(name="travel", version="1.2.0")
def travel_agent(task: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """Travel specialist: flight search and booking."""
    return _work("travel", task, policy)


@tracereel.agent(name="research", version="0.9.2")
def research_agent(task: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """Research specialist: web search, reading pages, cited summaries."""
    return _work("research", task, policy)


_SPECIALISTS = {
    "billing": billing_agent,
    "tech_support": tech_support_agent,
    "travel": travel_agent,
    "research": research_agent,
}


def _route(text: str, policy: Policy) -> str:
    reply = _ask(policy["router_model"], [_system("router"), {"role": "user", "content": text}])
    return str(json.loads(reply["content"]).get("route", "unknown"))


def _grade(answer: str, evidence: list[dict[str, Any]], policy: Policy) -> float:
    payload = json.dumps({"answer": answer, "evidence": evidence}, sort_keys=True)
    reply = _ask(policy["judge_model"], [_system("judge"), {"role": "user", "content": payload}])
    return float(json.loads(reply["content"])["groundedness"])


def _handle(task: dict[str, Any], policy: Policy, route: str | None = None) -> dict[str, Any]:
    """Screen, route, delegate, check and grade one request; records the task's outcome."""
    text = task["message"]
    steps = ["screen the request", "delegate to a specialist", "check the reply", "grade groundedness"]
    tracereel.plan(steps if route else ["route the request", *steps])
    clean = _INJECTION.search(text) is None
    if not tracereel.guardrail("prompt_injection", clean, None if clean else "instruction override in the request"):
        tracereel.set_outcome(False)
        return {"status": "refused", "reply": "I can't help with that request."}
    route = route or _route(text, policy)
    specialist = _SPECIALISTS.get(route)
    if specialist is None:
        tracereel.escalate("could not tell which team should handle the request")
        tracereel.set_outcome(False)
        return {"status": "escalated", "reply": "A colleague will get back to you shortly."}
    try:
        result = specialist(task, policy)
    except Exception:
        tracereel.set_outcome(False)
        raise
    if result["status"] == "needs_human":
        tracereel.escalate(result["reason"])
        tracereel.set_outcome(False)
        return {"status": "escalated", "reply": "A colleague will take it from here.", "reason": result["reason"]}
    if result["status"] != "done":
        tracereel.set_outcome(False)
        return {"status": "failed", "reply": "Sorry, something went wrong on our side.", "reason": result["reason"]}
    answer = result["answer"]
    private = _CARD.search(answer) is None
    if not tracereel.guardrail("pii_leak", private, None if private else "full card number in the reply"):
        tracereel.escalate("the reply contained a full card number; withheld for review")
        tracereel.set_outcome(False)
        return {"status": "withheld", "reply": "A colleague will get back to you shortly."}
    groundedness = _grade(answer, result["evidence"], policy)
    tracereel.score("groundedness", groundedness)
    grounded = groundedness >= 0.5
    tracereel.set_outcome(grounded)
    return {"status": "done" if grounded else "ungrounded", "reply": answer, "groundedness": groundedness}


@tracereel.agent(name="supervisor", version="1.4.0")
def supervisor(task: dict[str, Any]) -> dict[str, Any]:
    """The customer-desk supervisor, stable release."""
    return _handle(task, POLICIES["stable"])


@tracereel.agent(name="supervisor", version="1.5.0-rc.1")
def supervisor_canary(task: dict[str, Any]) -> dict[str, Any]:
    """The customer-desk supervisor, canary release (see the module docstring for what changed)."""
    return _handle(task, POLICIES["canary"])


@tracereel.agent(name="research_assistant", version="0.9.2")
def research_assistant(task: dict[str, Any]) -> dict[str, Any]:
    """A standalone research assistant (its own service): always delegates to the research specialist."""
    return _handle(task, POLICIES["stable"], route="research")

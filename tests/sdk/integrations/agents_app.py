"""A support desk on the OpenAI Agents SDK, written as its users write it: a triage agent with an
input guardrail hands billing questions to a billing agent, whose refund tool fails. The app's
own entry point is an ``@tracereel.agent`` function calling ``Runner.run_sync``; everything else
is recorded by ``tracereel.instrument("openai-agents")``. Importable by name (``agents_app:desk``)."""

from __future__ import annotations

from typing import Any

from agents import (
    Agent,
    GuardrailFunctionOutput,
    RunContextWrapper,
    Runner,
    function_tool,
    input_guardrail,
    set_default_openai_api,
    set_default_openai_client,
    set_trace_processors,
)
from openai import AsyncOpenAI

import tracereel

set_trace_processors([])  # the SDK's own exporter would send traces to OpenAI
tracereel.instrument("openai-agents")

URL = {"openai": ""}
CHANGES: dict[str, Any] = {}
TOOL_RUNS: list[str] = []


class RefundRefused(Exception):
    """The payment provider refused the refund."""


@function_tool
def lookup_invoice(invoice_id: str) -> str:
    """Look an invoice up by its id."""
    TOOL_RUNS.append(f"lookup_invoice {invoice_id}")
    return f"{invoice_id}: 40 EUR, paid"


@function_tool
def issue_refund(invoice_id: str) -> str:
    """Refund an invoice."""
    TOOL_RUNS.append(f"issue_refund {invoice_id}")
    raise RefundRefused(f"refund of {invoice_id} refused: the card has expired")


@input_guardrail
def polite(ctx: RunContextWrapper[Any], agent: Agent[Any], text: Any) -> GuardrailFunctionOutput:
    """Trips on rude requests."""
    rude = "stupid" in str(text).lower()
    return GuardrailFunctionOutput(output_info={"rude": rude}, tripwire_triggered=rude)


def _billing() -> Agent[Any]:
    return Agent(
        name="billing",
        instructions="You are the billing agent. Look invoices up and refund them.",
        tools=[lookup_invoice, issue_refund],
        model="gpt-4o-mini",
    )


def _triage() -> Agent[Any]:
    return Agent(
        name="triage",
        instructions=str(CHANGES.get("triage_instructions", "You are the triage agent. Hand billing to billing.")),
        handoffs=[_billing()],
        input_guardrails=[polite],
        model="gpt-4o-mini",
    )


@tracereel.agent(name="support-desk")
def desk(question: str) -> str:
    set_default_openai_client(AsyncOpenAI(base_url=URL["openai"], api_key="sk-test", max_retries=0))
    set_default_openai_api("responses")
    result = Runner.run_sync(_triage(), question)
    return str(result.final_output)


@tracereel.agent(name="support-desk-streamed")
async def desk_streamed(question: str) -> str:
    set_default_openai_client(AsyncOpenAI(base_url=URL["openai"], api_key="sk-test", max_retries=0))
    set_default_openai_api("responses")
    result = Runner.run_streamed(_triage(), question)
    async for _event in result.stream_events():
        pass
    return str(result.final_output)

"""The OpenAI Agents SDK, instrumented: agents, handoffs, tools and guardrails recorded; the app replays offline."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import agents_app
import pytest
from click.testing import CliRunner
from integration_support import Recorder, now

import tracereel
from tests.fake_openai import FakeOpenAI, function_call
from tests.support import DEADLINE, wait_until
from tracereel import semconv as sc
from tracereel.cli import main
from tracereel.client import CollectorClient

FINAL = "The refund of INV-7 (40 EUR) was refused: the card has expired."


def desk_answer(request: dict[str, Any]) -> str | dict[str, Any]:
    """The model behind both agents: triage hands off; billing looks up, tries a refund, answers."""
    items = request.get("input") if isinstance(request.get("input"), list) else []
    done = {i.get("call_id") for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"}
    if "triage" in str(request.get("instructions")) and "call_h" not in done:
        return {"output": [function_call("transfer_to_billing", {}, "call_h")]}
    if "call_l" not in done:
        return {"output": [function_call("lookup_invoice", {"invoice_id": "INV-7"}, "call_l")]}
    if "call_r" not in done:
        return {"output": [function_call("issue_refund", {"invoice_id": "INV-7"}, "call_r")]}
    return FINAL


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(desk_answer) as server:
        agents_app.URL["openai"] = server.base_url
        yield server


def _record(recorder: Recorder, fake: FakeOpenAI, question: str = "Please refund invoice INV-7") -> str:
    since = now()
    assert agents_app.desk(question) == FINAL
    fake.stop()
    return recorder.latest("support-desk", since)


def _replay(trace_id: str, url: str, *more: str) -> Any:
    return CliRunner().invoke(main, ["replay", trace_id, "--collector", url, *more], catch_exceptions=False)


def test_agents_handoffs_tools_and_guardrails_are_recorded(recorder: Recorder, fake: FakeOpenAI) -> None:
    trace_id = _record(recorder, fake)
    spans = recorder.trace(trace_id)["spans"]
    by_name = {s["name"]: s for s in spans}
    triage, billing = by_name["invoke_agent triage"], by_name["invoke_agent billing"]
    assert triage["kind"] == billing["kind"] == "agent"
    assert billing["attributes"][sc.HANDOFF_FROM] == "triage"
    assert billing["attributes"][sc.HANDOFF_TARGET_TYPE] == "agent"
    tools = [s for s in spans if s["kind"] == "tool"]
    assert sorted(s["name"] for s in tools) == ["execute_tool issue_refund", "execute_tool lookup_invoice"]
    assert all(s["parent_span_id"] == billing["span_id"] for s in tools)
    refund = by_name["execute_tool issue_refund"]
    assert refund["status_code"] == "ERROR"
    assert refund["attributes"][sc.ERROR_TYPE] == "agents_app.RefundRefused"
    assert json.loads(refund["attributes"][sc.TOOL_CALL_ARGUMENTS]) == {"invoice_id": "INV-7"}
    llms = [s for s in spans if s["kind"] == "llm"]
    assert len(llms) == 4 and {s["parent_span_id"] for s in llms} == {triage["span_id"], billing["span_id"]}
    guardrail = by_name["guardrail polite"]
    assert guardrail["kind"] == "guardrail" and guardrail["attributes"][sc.GUARDRAIL_VERDICT] == "pass"


def test_the_app_replays_offline_with_exit_0(recorder: Recorder, fake: FakeOpenAI) -> None:
    trace_id = _record(recorder, fake)
    requests, tool_runs = len(fake.requests), list(agents_app.TOOL_RUNS)
    result = _replay(trace_id, recorder.url)
    assert result.exit_code == 0, result.output
    assert len(fake.requests) == requests and agents_app.TOOL_RUNS == tool_runs  # model and tools from the tape


def test_a_changed_prompt_is_a_divergence(recorder: Recorder, fake: FakeOpenAI) -> None:
    trace_id = _record(recorder, fake)
    agents_app.CHANGES["triage_instructions"] = "You are the triage agent. Send billing questions to billing."
    try:
        result = _replay(trace_id, recorder.url, "--json")
    finally:
        agents_app.CHANGES.clear()
    assert result.exit_code == 1, result.output
    divergence = json.loads(result.output)["divergence"]
    assert divergence["kind"] == "different_arguments"
    assert divergence["address"]["label"] == "llm:gpt-4o-mini#1"
    assert "Send billing questions to billing." in divergence["diff"]


def test_a_tripped_guardrail_is_a_violation(recorder: Recorder, fake: FakeOpenAI) -> None:
    since = now()
    with pytest.raises(Exception, match="Guardrail"):
        agents_app.desk("refund this stupid invoice")
    trace_id = recorder.latest("support-desk", since)
    guardrail = next(s for s in recorder.trace(trace_id)["spans"] if s["kind"] == "guardrail")
    assert guardrail["name"] == "guardrail polite"
    assert guardrail["attributes"][sc.GUARDRAIL_VERDICT] == "violation"


def test_metrics_count_one_tool_call_per_real_tool_call(recorder: Recorder, fake: FakeOpenAI) -> None:
    """One run under a service of its own: the handoff is not a tool call, the failing refund is one."""
    tracereel.configure(service_name="desk-metrics", endpoint=recorder.url, schedule_delay_millis=50)
    assert agents_app.desk("Please refund invoice INV-7") == FINAL
    assert tracereel.flush(DEADLINE)
    wait_until(lambda: _metrics(recorder.url)["tasks"] == 1, "the run to reach the metrics")
    metrics = _metrics(recorder.url)
    assert metrics["tool_calls"] == 2  # lookup_invoice and issue_refund; transfer_to_billing is a handoff
    assert metrics["tool_error_rate"] == 0.5 and metrics["tool_success_rate"] == 0.5
    assert metrics["steps_per_task"] == 6.0  # 4 model calls + 2 tool calls


def _metrics(url: str) -> dict[str, Any]:
    return CollectorClient(url).metrics(service="desk-metrics", start=str(int(time.time()) - 600)).model_dump()


def test_a_golden_set_of_one_recorded_run_evaluates_offline(
    tmp_path: Path, recorder: Recorder, fake: FakeOpenAI
) -> None:
    trace_id = _record(recorder, fake)
    golden = tmp_path / "golden.yaml"
    added = CliRunner().invoke(main, ["dataset", "add", str(golden), trace_id, "--collector", recorder.url])
    assert added.exit_code == 0, added.output
    tool_runs = list(agents_app.TOOL_RUNS)

    passed = CliRunner().invoke(main, ["eval", str(golden), "--json", "--no-upload"])

    assert passed.exit_code == 0, passed.output
    report = json.loads(passed.stdout)
    assert report["pass_rate"] == 1.0 and [c["output"] for c in report["cases"]] == [FINAL]
    assert agents_app.TOOL_RUNS == tool_runs  # the tools were served from the recording

    agents_app.CHANGES["triage_instructions"] = "You are the triage agent. Send billing questions to billing."
    try:
        changed = CliRunner().invoke(main, ["eval", str(golden), "--json", "--no-upload"])
    finally:
        agents_app.CHANGES.clear()
    assert changed.exit_code == 1
    assert json.loads(changed.stdout)["pass_rate"] == 0.0


def test_a_streamed_run_replays_offline_with_exit_0(recorder: Recorder, fake: FakeOpenAI) -> None:
    since = now()
    assert asyncio.run(agents_app.desk_streamed("Please refund invoice INV-7")) == FINAL
    fake.stop()
    trace_id = recorder.latest("support-desk-streamed", since)
    spans = recorder.trace(trace_id)["spans"]
    assert sum(1 for s in spans if s["kind"] == "llm") == 4 and sum(1 for s in spans if s["kind"] == "tool") == 2
    requests, tool_runs = len(fake.requests), list(agents_app.TOOL_RUNS)
    result = _replay(trace_id, recorder.url)
    assert result.exit_code == 0, result.output
    assert len(fake.requests) == requests and agents_app.TOOL_RUNS == tool_runs

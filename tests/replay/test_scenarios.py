"""What the eval runner needs from replay: faults, every LLM call live, replays side by side, watching spans."""

from __future__ import annotations

import contextvars
import threading
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan

from tracereel.replay import CannotReplay, ReplayReport, parse_faults, replay
from tracereel.sdk import hooks


def test_a_fault_raises_in_place_of_the_recorded_result_without_running_the_body(recorder: Any, agents: Any):
    recorded = recorder.record("support", agents.support, "Kettle broke", "kim@example.com")
    agents.reset()
    agents.ARMED.set()
    report = replay(recorded.trace, faults={"tool:check_inventory": "timeout"})
    assert ("TimeoutError", "tracereel: injected timeout (tool:check_inventory=timeout)") in agents.SEEN_ERRORS
    assert "check_inventory" not in agents.BODY_RUNS
    assert report.status == "reproduced", report.summary()  # the recording also timed out there


def test_an_error_fault_the_agent_does_not_catch_ends_the_run_with_it(recorder: Any, agents: Any):
    recorded = recorder.record("support", agents.support, "Kettle broke", "kim@example.com")
    agents.reset()
    agents.ARMED.set()
    report = replay(recorded.trace, faults={"tool:lookup_order": "error"})
    assert report.status == "diverged"
    assert report.outcome["replayed"]["exception"] == "tracereel.replay.InjectedFault"


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        ({"tool:x": "slow"}, "expected timeout or error"),
        ({"agent:x": "timeout"}, "name a tool or an llm boundary"),
        ({"x": "timeout"}, "expected tool:NAME"),
    ],
)
def test_bad_faults_are_named(faults: dict[str, str], message: str):
    with pytest.raises(CannotReplay, match=message):
        parse_faults(faults)


def test_llm_star_runs_every_model_call_live_and_serves_the_tools(recorder: Any, agents: Any):
    recorded = recorder.record("support", agents.support, "Kettle broke", "kim@example.com")
    agents.reset()
    agents.ARMED.set()
    agents.LIVE_OK.add("complete")
    report = replay(recorded.trace, live=["llm:*"])
    assert agents.BODY_RUNS == ["complete"]
    # The three tools before the model call were served; the live model may answer differently
    # from the recording (it picks at random), and then send_email's arguments diverge.
    assert report.live == 1 and report.served >= 3


def test_two_replays_run_at_once_each_in_its_own_context(recorder: Any, agents: Any):
    first = recorder.record("support", agents.support, "Kettle broke", "kim@example.com")
    second = recorder.record("support", agents.support, "Mug chipped", "lee@example.com")
    agents.reset()
    agents.ARMED.set()
    barrier = threading.Barrier(2)
    reports: dict[str, ReplayReport] = {}

    def run(trace: dict[str, Any]) -> None:
        barrier.wait()  # both replays are under way at the same time
        reports[trace["trace_id"]] = replay(trace, context_only=True)

    threads = [threading.Thread(target=contextvars.copy_context().run, args=(run, t.trace)) for t in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert {r.status for r in reports.values()} == {"reproduced"}, [r.summary() for r in reports.values()]
    assert hooks.get_interceptor() is None  # nothing left installed


def test_on_span_end_sees_every_span_until_removed(spans: Any):
    import tracereel

    seen: list[ReadableSpan] = []
    remove = hooks.on_span_end(seen.append)

    @tracereel.tool
    def step(i: int) -> int:
        return i

    step(1)
    remove()
    step(2)
    assert [s.attributes["gen_ai.tool.call.arguments"] for s in seen] == ['{"i":1}']


def test_on_span_start_may_mark_the_spans_it_sees(spans: Any):
    import tracereel

    def mark_roots(span: Any) -> None:
        if span.parent is None:
            span.set_attribute("tracereel.eval.case_id", "case-1")

    remove = hooks.on_span_start(mark_roots)

    @tracereel.tool
    def step(i: int) -> int:
        return i

    @tracereel.agent(name="marked")
    def run() -> int:
        return step(1)

    run()
    remove()
    run()
    tracereel.flush()
    marked = [s.name for s in spans.get_finished_spans() if s.attributes.get("tracereel.eval.case_id") == "case-1"]
    assert marked == ["invoke_agent marked"]


def test_a_live_boundary_asked_other_arguments_answers_in_place_of_the_recorded_call(recorder: Any, agents: Any):
    recorded = recorder.record("support", agents.support, "Kettle broke", "kim@example.com")
    agents.reset()
    agents.BEHAVIOUR["order_id"] = "A-2002"  # the code now looks up another order
    agents.ARMED.set()
    agents.LIVE_OK.add("lookup_order")
    strict = replay(recorded.trace)
    assert strict.status == "diverged" and strict.divergence is not None
    assert strict.divergence.kind == "different_arguments"

    agents.reset()
    agents.BEHAVIOUR["order_id"] = "A-2002"
    agents.ARMED.set()
    agents.LIVE_OK.add("lookup_order")
    report = replay(recorded.trace, live=["tool:lookup_order"])
    assert agents.BODY_RUNS == ["lookup_order"]  # it ran for real, with the new arguments
    # The recorded lookup was taken by the live call; the next call is still served from the tape.
    # The new order has another total, so the card is charged another amount: that diverges.
    assert report.live == 1 and report.served == 1
    assert report.divergence is not None and report.divergence.address["label"] == "tool:charge_card#1"

"""Each kind of divergence: what the report says, where replay stops (strict) or goes on (live)."""

from __future__ import annotations

import pytest

from tracereel import semconv as sc
from tracereel.replay import DIVERGENCE_KINDS, replay


@pytest.fixture
def support_trace(recorder, agents):
    recorded = recorder.record("support", agents.support, "The mug is chipped", "di@example.com")
    agents.BODY_RUNS.clear()
    agents.OUTBOX.clear()
    return recorded


def test_different_arguments_shows_a_diff_and_the_nearest_recorded_call(support_trace, agents):
    agents.BEHAVIOUR["order_id"] = "A-1002"  # the code now looks up another order
    agents.ARMED.set()
    report = replay(support_trace.trace)

    assert report.status == "diverged" and report.exit_code == 1
    d = report.divergence
    assert d.kind == "different_arguments"
    assert d.address["label"] == "tool:lookup_order#1"
    assert d.address["agent_path"] == ["support"] and d.address["ordinal"] == 1
    assert '-  "order_id": "A-1001"' in d.diff and '+  "order_id": "A-1002"' in d.diff
    assert d.candidates[0]["label"] == "tool:lookup_order#1"
    assert d.candidates[0]["arguments"] == {"order_id": "A-1001"}
    # strict: the run stopped at the divergence, nothing after it was called.
    assert "send_email" not in agents.BODY_RUNS and agents.OUTBOX == []
    assert report.outcome["replayed"] == {"stopped": "replay stopped at the first divergence"}
    assert d.kind in DIVERGENCE_KINDS


def test_different_call_names_the_recorded_call_it_expected(support_trace, agents):
    agents.BEHAVIOUR["lookup_tool"] = "search_kb"  # a new tool call before the LLM call
    agents.ARMED.set()
    report = replay(support_trace.trace)
    d = report.divergence
    assert d.kind == "different_call"
    assert d.address["label"] == "llm:fake-gpt#1"  # the recording's next call at this point
    assert '"query": "The mug is chipped"' in d.actual
    assert report.exit_code == 1


def test_extra_call_when_the_recorded_calls_are_used_up(recorder, agents):
    agents.BEHAVIOUR["skip_email"] = True
    recorded = recorder.record("support", agents.support, "Cancel my order", "ed@example.com")
    agents.BEHAVIOUR.clear()  # the code now sends an email the recording never sent
    agents.ARMED.set()
    report = replay(recorded.trace)
    d = report.divergence
    assert d.kind == "extra_call"
    assert d.address["kind"] == "tool" and d.address["name"] == "send_email"
    # The collector redacted the recorded input, so the replay runs with the marker in its place.
    assert '"to": "<redacted:email>"' in d.actual
    assert agents.OUTBOX == []


def test_missing_call_when_the_agent_stops_making_a_recorded_call(support_trace, agents):
    agents.BEHAVIOUR["skip_email"] = True
    agents.ARMED.set()
    report = replay(support_trace.trace)
    d = report.divergence
    assert d.kind == "missing_call"
    assert d.address["label"] == "tool:send_email#1"
    # The collector redacted the address before storage: the report names the field.
    assert '"to": "<redacted:email>"' in d.expected
    assert d.redacted == ["to"]
    assert report.served == 4


def test_skipping_a_call_mid_run_is_a_missing_call(recorder, agents):
    agents.BEHAVIOUR["extra_search"] = True
    recorded = recorder.record("support", agents.support, "Broken lid", "fa@example.com")
    agents.BEHAVIOUR.clear()  # the search before check_inventory is gone
    agents.ARMED.set()
    report = replay(recorded.trace)
    assert report.divergence.kind == "missing_call"
    assert report.divergence.address["label"] == "tool:search_kb#1"


def test_different_output(support_trace, agents):
    agents.BEHAVIOUR["reply_suffix"] = " Regards, Bot"
    agents.ARMED.set()
    report = replay(support_trace.trace)
    d = report.divergence
    assert d.kind == "different_output"
    assert d.address["label"] == "agent:support#1"
    assert "Regards, Bot" in d.diff
    assert report.outcome["changed"] is True
    assert report.served == 5  # every recorded call was served; only the final output differs


def test_live_mode_runs_the_rest_for_real_from_the_divergence(support_trace, agents):
    agents.BEHAVIOUR["order_id"] = "A-2000"
    report = replay(support_trace.trace, mode="live")
    assert report.status == "diverged" and report.divergence.kind == "different_arguments"
    # From the divergence on everything ran for real: the lookup, the tools, the LLM and the email.
    assert agents.BODY_RUNS == ["lookup_order", "check_inventory", "charge_card", "complete", "send_email"]
    assert len(agents.OUTBOX) == 1
    assert report.live == 5 and report.served == 0
    assert report.outcome["replayed"]["output"]["order_type"] == "Order"


def test_diverged_replay_trace_says_where(recorder, support_trace, agents):
    agents.BEHAVIOUR["order_id"] = "Z-9"
    agents.ARMED.set()
    report = replay(support_trace.trace)
    again = recorder.trace(report.replay_trace_id)
    root = next(s for s in again["spans"] if not s["parent_span_id"])
    assert root["attributes"][sc.REPLAY_DIVERGED_AT] == report.divergence.where
    assert "tool:lookup_order#1" in root["attributes"][sc.REPLAY_DIVERGED_AT]


def test_different_input_to_the_entry_point(support_trace, agents):
    root = next(s for s in support_trace.trace["spans"] if not s["parent_span_id"])
    recorded_input = root["attributes"]["tracereel.agent.input"]
    agents.AGENT_RUNS.clear()
    agents.ARMED.set()
    # Point the replay at another entry point whose input binding differs from the recording.
    report = replay(support_trace.trace, entrypoint="replay_agents:researcher")
    d = report.divergence
    assert d.kind == "different_call" and d.address["label"] == "agent:support#1"
    assert report.exit_code == 1
    assert d.expected and "customer" in d.expected and recorded_input
    assert agents.AGENT_RUNS == []  # strict: the agent did not run

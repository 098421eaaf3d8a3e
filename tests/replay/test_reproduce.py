"""A recorded run replays step for step: nothing real is called, clocks/random/uuids and errors come back."""

from __future__ import annotations

import json

from tracereel import semconv as sc
from tracereel.replay import Tape, replay


def test_support_run_reproduces_without_running_any_tool_or_llm(recorder, agents):
    recorded = recorder.record("support", agents.support, "My kettle arrived broken", "ann@example.com")
    assert recorded.error is None
    assert agents.OUTBOX and agents.BODY_RUNS.count("send_email") == 1
    agents.BODY_RUNS.clear()
    agents.OUTBOX.clear()
    agents.SEEN_ERRORS.clear()

    agents.ARMED.set()  # any tool or LLM body that runs now fails the test
    report = replay(recorded.trace)

    assert report.status == "reproduced", report.to_json()
    assert report.exit_code == 0
    assert agents.BODY_RUNS == [] and agents.OUTBOX == []  # the email was not sent again
    assert report.served == report.recorded_calls == 5
    assert report.outcome["changed"] is False
    # The replayed output holds the recorded uuid, wall-clock time, datetime.now() and random value.
    assert report.outcome["replayed"]["output"] == recorded.result
    assert report.outcome["replayed"]["output"]["request_id"] == recorded.result["request_id"]
    assert report.nondeterminism["served"] == report.nondeterminism["recorded"] >= 4
    assert report.nondeterminism["live"] == 0
    assert [t for t, _ in agents.SEEN_ERRORS] == ["TimeoutError", "PaymentDeclined"]


def test_exceptions_are_reraised_with_their_type_and_message(recorder, agents):
    recorder.record("support", agents.support, "Where is my order?", "bo@example.com")
    recorded_errors = list(agents.SEEN_ERRORS)
    assert [t for t, _ in recorded_errors] == ["TimeoutError", "PaymentDeclined"]
    trace = recorder.trace(recorder.latest("support", 0))
    tools = {s["attributes"].get(sc.TOOL_NAME): s for s in trace["spans"]}
    assert tools["check_inventory"]["attributes"][sc.ERROR_TYPE] == "timeout"
    agents.SEEN_ERRORS.clear()

    agents.ARMED.set()
    report = replay(trace)

    assert report.reproduced, report.to_json()
    # The agent's except clauses caught the same types with the same messages.
    assert agents.SEEN_ERRORS == recorded_errors
    assert recorded_errors[0][1] == "inventory service timed out after 5s looking up KETTLE-1"
    assert recorded_errors[1][1] == "card declined (51): insufficient funds"


def test_the_replay_is_a_new_trace_linked_to_the_original(recorder, agents):
    recorded = recorder.record("support", agents.support, "Refund please", "cy@example.com")
    agents.ARMED.set()
    report = replay(recorded.trace)
    assert report.reproduced
    assert report.replay_trace_id and report.replay_trace_id != recorded.trace_id

    again = recorder.trace(report.replay_trace_id)
    root = next(s for s in again["spans"] if not s["parent_span_id"])
    assert root["attributes"][sc.REPLAY_OF] == recorded.trace_id
    assert root["attributes"][sc.REPLAY_MODE] == "strict"
    assert sc.REPLAY_DIVERGED_AT not in root["attributes"]
    original_root = next(s for s in recorded.trace["spans"] if not s["parent_span_id"])
    assert [(link["trace_id"], link["span_id"]) for link in root["links"]] == [
        (recorded.trace_id, original_root["span_id"])
    ]
    sources = [s["attributes"].get(sc.REPLAY_SOURCE) for s in again["spans"] if s["kind"] in ("tool", "llm")]
    assert sources == ["tape"] * 5
    # The replay's own trace is replayable and carries the same values: replaying it reproduces too.
    assert replay(again).reproduced


def test_tape_groups_calls_and_numbers_them(recorder, agents):
    recorded = recorder.record("supervisor", agents.supervisor, "kettle descaling")
    tape = Tape(recorded.trace)
    labels = [c.label for c in tape.calls]
    assert labels == [
        "agent:supervisor#1",
        "agent:researcher#1",
        "tool:search_kb#1",
        "llm:fake-gpt#1",
        "agent:writer#1",
        "llm:fake-gpt#2",
    ]
    llm = tape.calls[3]
    assert llm.agent_path == ("supervisor", "researcher")
    assert json.loads(llm.arguments_json)["temperature"] == 0.0
    assert not tape.truncated

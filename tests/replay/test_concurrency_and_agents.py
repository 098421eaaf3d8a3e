"""Parallel calls (asyncio.gather, threads), sub-agents and --stub-agent."""

from __future__ import annotations

import time

from tracereel.replay import Tape, replay


def test_async_gather_matches_parallel_calls_whatever_their_finishing_order(recorder, agents):
    recorded = recorder.record("pricing", agents.pricing, ["MUG", "KETTLE", "LID", "MUG"])
    assert recorded.error is None
    tape = Tape(recorded.trace)
    first_wave = [c for c in tape.root.children if c.name == "fetch_price"][:4]
    # The recording finished its parallel calls in a different order than it started them.
    assert sorted(first_wave, key=lambda c: c.end_ns) != first_wave

    agents.reset()
    agents.ARMED.set()
    report = replay(recorded.trace)
    assert report.reproduced, report.to_json()
    assert report.served == 6
    assert report.outcome["replayed"]["output"] == recorded.result


def test_async_parallel_calls_in_another_start_order_still_match(recorder, agents):
    recorded = recorder.record("pricing", agents.pricing, ["A", "B", "C"])
    agents.reset()
    agents.BEHAVIOUR["reverse"] = True  # start the same parallel calls in reverse order
    agents.ARMED.set()
    report = replay(recorded.trace)
    # All parallel calls are served by fingerprint; only the order of the output list changed.
    assert report.served == 5
    assert report.divergence is not None and report.divergence.kind == "different_output"


def test_threads_with_the_task_context_replay(recorder, agents):
    urls = ["https://a.example/1", "https://a.example/2", "https://a.example/3", "https://a.example/4"]
    recorded = recorder.record("crawler", agents.crawler, urls)
    assert recorded.error is None
    # The recording ran pages 1 and 2 at the same time (page 1 waited for page 2 to be fetched).
    calls = [c for c in Tape(recorded.trace).root.children if c.name == "fetch_page"]
    first, second = (next(c for c in calls if url in c.arguments_json) for url in urls[:2])
    assert first.start_ns < second.end_ns and second.start_ns < first.end_ns
    agents.reset()
    agents.ARMED.set()
    report = replay(recorded.trace)
    assert report.reproduced, report.to_json()
    assert report.served == 4
    assert agents.BODY_RUNS == []


def test_sub_agents_run_their_code_with_their_calls_served(recorder, agents):
    recorded = recorder.record("supervisor", agents.supervisor, "descale a kettle")
    agents.reset()
    agents.ARMED.set()
    report = replay(recorded.trace)
    assert report.reproduced, report.to_json()
    assert agents.AGENT_RUNS == ["supervisor", "researcher", "writer"]  # the agents' own code ran
    assert report.served == 3


def test_stub_agent_serves_a_sub_agent_from_its_recorded_output(recorder, agents):
    recorded = recorder.record("supervisor", agents.supervisor, "remove limescale")
    agents.reset()
    agents.ARMED.set()
    report = replay(recorded.trace, stub_agents=["researcher"])
    # The supervisor's own clock/uuid/random values are served even though the stubbed researcher
    # drew values of its own in between (those are skipped with it).
    assert report.reproduced, report.to_json()
    assert report.outcome["replayed"]["output"] == recorded.result
    assert report.nondeterminism["live"] == 0
    assert "researcher" not in agents.AGENT_RUNS  # its body never ran
    assert agents.AGENT_RUNS == ["supervisor", "writer"]
    assert report.stubbed == 1 and report.served == 1  # only the writer's LLM call was served from the tape


def test_a_sub_agent_that_skips_a_call_diverges_at_its_own_address(recorder, agents):
    recorded = recorder.record("supervisor", agents.supervisor, "fix a leak")
    agents.reset()
    agents.ARMED.set()
    report = replay(recorded.trace, overrides={"tool:search_kb#1": ["one note"]})
    # The researcher's LLM call now sees different notes: its arguments differ from the recording.
    d = report.divergence
    assert d.kind == "different_arguments"
    assert d.address["agent_path"] == ["supervisor", "researcher"]
    assert d.address["label"] == "llm:fake-gpt#1"
    assert "one note" in d.diff


async def test_an_async_agent_replays_from_inside_a_running_event_loop(recorder, agents):
    since = time.time() - 0.5
    await agents.pricing(["TEA"])
    trace = recorder.trace(recorder.latest("pricing", since))
    agents.reset()
    agents.ARMED.set()
    report = replay(trace)  # from an async test: the engine runs the agent on its own loop
    assert report.reproduced, report.to_json()


def test_threads_without_the_task_context_are_reported_with_a_hint(recorder, agents):
    recorded = recorder.record("crawler", agents.crawler, ["https://c.example/1"])
    agents.reset()
    agents.BEHAVIOUR["no_context"] = True
    agents.ARMED.set()
    report = replay(recorded.trace)
    d = report.divergence
    assert d.kind == "extra_call" and d.address["name"] == "fetch_page"
    assert "contextvars.copy_context().run" in d.message
    assert agents.BODY_RUNS == []

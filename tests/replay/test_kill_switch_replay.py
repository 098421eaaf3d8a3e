"""Replay and the kill switch: a kill since the recording changes nothing; a recorded kill replays as it was."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import tracereel
from tests.support import wait_until
from tracereel.client import CollectorClient
from tracereel.replay import replay

RUNS: list[str] = []


@tracereel.agent(name="kr-lookup")
def kr_lookup(order: str) -> str:
    RUNS.append("lookup")
    return "found"


@tracereel.agent(name="kr-support")
def kr_support(order: str) -> str:
    RUNS.append("support")
    try:
        return kr_lookup(order)
    except tracereel.AgentDisabled as exc:
        return f"lookup unavailable: {exc.reason}"


@tracereel.agent(name="kr-triage", fallback=lambda order: f"a person will answer {order}")
def kr_triage(order: str) -> str:
    RUNS.append("triage")
    return "triaged"


@tracereel.agent(name="kr-refunds")
def kr_refunds(order: str) -> str:
    RUNS.append("refunds")
    return "refunded"


@pytest.fixture
def switches(recorder: Any) -> Iterator[Callable[[str, bool], None]]:
    """``flip(agent, kill)``: kill or revive an agent and wait until the SDK acts on it."""
    admin = CollectorClient(recorder.url)
    killed: set[str] = set()

    def flip(agent: str, kill: bool) -> None:
        if kill:
            admin.kill(agent, reason=f"{agent} misbehaves")
            killed.add(agent)
        else:
            admin.revive(agent)
            killed.discard(agent)
        # A probe of the same name answers "killed" (its fallback) while the switch is on.
        probe = tracereel.agent(name=agent, fallback="killed")(lambda: "ran")
        wait_until(lambda: (probe() == "killed") == kill, f"{agent} to be {'killed' if kill else 'revived'}")
        RUNS.clear()

    yield flip
    for agent in killed:  # the collector is the module's: leave no switch for the next test
        admin.revive(agent)


def test_a_replay_of_an_agent_killed_since_runs_as_recorded(recorder, agents, switches):
    recorded = recorder.record("support", agents.support, "My kettle arrived broken", "ann@example.com")
    assert recorded.error is None
    switches("support", True)
    agents.reset()
    agents.ARMED.set()  # tools and LLM calls are served from the tape

    report = replay(recorded.trace)

    assert report.status == "reproduced", report.to_json()
    assert report.outcome["replayed"]["output"] == recorded.result


def test_a_recorded_kill_of_a_sub_agent_replays_as_it_was_after_a_revive(recorder, switches):
    switches("kr-lookup", True)
    recorded = recorder.record("kr-support", kr_support, "A1")
    assert recorded.result == "lookup unavailable: kr-lookup misbehaves"
    assert RUNS == ["support"]
    switches("kr-lookup", False)

    report = replay(recorded.trace)

    assert report.status == "reproduced", report.to_json()
    assert report.outcome["replayed"]["output"] == recorded.result
    assert RUNS == ["support"]  # the sub-agent's body did not run: it did not in the recording


def test_a_recorded_kill_of_the_root_replays_its_fallback_or_its_error(recorder, switches):
    switches("kr-triage", True)
    switches("kr-refunds", True)
    by_fallback = recorder.record("kr-triage", kr_triage, "T1")
    by_error = recorder.record("kr-refunds", kr_refunds, "R1")
    assert by_fallback.result == "a person will answer T1"
    assert isinstance(by_error.error, tracereel.AgentDisabled)
    assert RUNS == []
    switches("kr-triage", False)
    switches("kr-refunds", False)

    for recorded in (by_fallback, by_error):
        report = replay(recorded.trace)
        assert report.status == "reproduced", report.to_json()
    assert RUNS == []

"""A kill switch does not change a replay: replay re-runs what was recorded, whatever the switches say now."""

from __future__ import annotations

import tracereel
from tests.support import wait_until
from tracereel.client import CollectorClient
from tracereel.replay import replay


def test_a_replay_of_an_agent_killed_since_runs_as_recorded(recorder, agents):
    recorded = recorder.record("support", agents.support, "My kettle arrived broken", "ann@example.com")
    assert recorded.error is None
    admin = CollectorClient(recorder.url)
    marker = tracereel.agent(name="replay-marker")(lambda: "ran")
    admin.kill("support", reason="killed after the recording")
    admin.kill("replay-marker", reason="marks the switches as received")
    try:

        def blocked() -> bool:
            try:
                marker()
            except tracereel.AgentDisabled:
                return True
            return False

        wait_until(blocked, "the SDK to receive the kill switches")
        agents.reset()
        agents.ARMED.set()  # tools and LLM calls are served from the tape

        report = replay(recorded.trace)

        assert report.status == "reproduced", report.to_json()
        assert report.outcome["replayed"]["output"] == recorded.result
    finally:
        # The collector is the module's: leave no switch for the next test.
        admin.revive("support")
        admin.revive("replay-marker")

"""The kill switch in the SDK against a real collector: matching, AgentDisabled, fallback, spans, fail-open and closed.

The switches are flipped through the collector's API (CollectorClient, as the CLI does); the
SDK's background poller picks them up, and each test waits for the first blocked call.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from inline_snapshot import snapshot
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from test_span_snapshots import IncrementalIds, TickingClock, _simplify

import tracereel
from tests.conftest import RunningCollector, start_collector
from tests.support import wait_until
from tracereel import semconv as sc
from tracereel.client import CollectorClient
from tracereel.sdk.settings import ConfigError

RUNS: list[str] = []


@tracereel.agent(name="refunds", version="2.0")
def refunds(order: str) -> str:
    RUNS.append(f"refunds {order}")
    return f"refunded {order}"


@tracereel.agent(name="refunds", version="1.0")
def refunds_v1(order: str) -> str:
    RUNS.append(f"refunds-v1 {order}")
    return f"refunded {order} (v1)"


@tracereel.agent(name="lookup")
def lookup(order: str) -> str:
    RUNS.append(f"lookup {order}")
    return "found"


@tracereel.agent(name="support", version="1.0")
def support(order: str) -> str:
    RUNS.append(f"support {order}")
    try:
        found = lookup(order)
    except tracereel.AgentDisabled as exc:
        found = f"lookup unavailable ({exc.reason})"
    return f"{found}; {refunds(order)}"


@tracereel.agent(name="sentinel")
def sentinel() -> str:
    return "ran"


@pytest.fixture
def exporter(collector: RunningCollector) -> Iterator[InMemorySpanExporter]:
    """The SDK exporting into memory and polling the test collector's switches."""
    RUNS.clear()
    memory = InMemorySpanExporter()
    tracereel.configure(service_name="shop", endpoint=collector.url, exporter=memory, schedule_delay_millis=50)
    yield memory
    tracereel.shutdown()


@pytest.fixture
def admin(collector: RunningCollector) -> CollectorClient:
    return CollectorClient(collector.url)


def blocked(agent: Callable[..., Any], *args: Any) -> str | None:
    """The AgentDisabled message if calling ``agent`` is blocked now, else None."""
    try:
        agent(*args)
    except tracereel.AgentDisabled as exc:
        return str(exc)
    return None


_MARKS = itertools.count()


def kill_and_wait(admin: CollectorClient, agent: str = "", **selector: str) -> None:
    """Kill ``agent``, then a new marker agent; wait until the SDK blocks the marker (so every earlier flip is in)."""
    if agent:
        admin.kill(agent, reason=selector.pop("reason", "test"), **selector)
    name = f"marker-{next(_MARKS)}"
    marker = tracereel.agent(name=name)(lambda: "ran")
    admin.kill(name, reason="marks the switches as received")
    wait_until(lambda: blocked(marker), "the SDK to receive the kill switches")


def test_a_killed_agent_does_not_run_and_raises_agent_disabled_with_the_reason(exporter, admin):
    assert refunds("A1") == "refunded A1"
    kill_and_wait(admin, "refunds", reason="refunds double-charged")
    RUNS.clear()

    with pytest.raises(tracereel.AgentDisabled) as raised:
        refunds("A2")
    assert RUNS == []
    assert str(raised.value) == "agent 'refunds' version '2.0' is disabled by a kill switch: refunds double-charged"
    assert (raised.value.agent, raised.value.version, raised.value.reason) == (
        "refunds",
        "2.0",
        "refunds double-charged",
    )

    admin.revive("refunds")
    wait_until(lambda: not blocked(refunds, "A3"), "the revive to reach the SDK")
    assert RUNS[-1] == "refunds A3"


def test_matching_by_version_and_service(exporter, admin):
    admin.kill("refunds", version="1.0", reason="v1 is broken")
    admin.kill("lookup", service="another-service", reason="not this service")
    kill_and_wait(admin)

    assert blocked(refunds_v1, "A") == "agent 'refunds' version '1.0' is disabled by a kill switch: v1 is broken"
    assert refunds("A") == "refunded A"  # version 2.0 runs
    assert lookup("A") == "found"  # the switch names another service

    kill_and_wait(admin, "lookup", service="shop", reason="this service")
    assert blocked(lookup, "A") == "agent 'lookup' is disabled by a kill switch: this service"


def test_a_sub_agent_is_killed_on_its_own_and_the_parent_runs_on(exporter, admin):
    kill_and_wait(admin, "lookup", reason="lookup hammers the database")
    RUNS.clear()

    assert support("A7") == "lookup unavailable (lookup hammers the database); refunded A7"
    assert RUNS == ["support A7", "refunds A7"]


def test_fallback_value_or_callable_instead_of_raising(exporter, admin):
    @tracereel.agent(name="triage", fallback="a human will answer soon")
    def triage(ticket: str) -> str:
        RUNS.append("triage")
        return "triaged"

    @tracereel.agent(name="triage", fallback=lambda ticket: f"queued {ticket} for a human")
    def triage_callable(ticket: str) -> str:
        RUNS.append("triage")
        return "triaged"

    @tracereel.agent(name="triage", fallback=lambda ticket: _async_answer(ticket))
    async def triage_async(ticket: str) -> str:
        RUNS.append("triage")
        return "triaged"

    kill_and_wait(admin, "triage", reason="bad prompt")
    assert triage("T1") == "a human will answer soon"
    assert triage_callable("T2") == "queued T2 for a human"
    assert asyncio.run(triage_async("T3")) == "async queued T3"
    assert RUNS == []
    assert tracereel.flush()
    outputs = [
        json.loads(str(s.attributes[sc.AGENT_OUTPUT]))
        for s in exporter.get_finished_spans()
        if s.name == "invoke_agent triage"
    ]
    assert outputs == ["a human will answer soon", "queued T2 for a human", "async queued T3"]


async def _async_answer(ticket: str) -> str:
    await asyncio.sleep(0)
    return f"async queued {ticket}"


def test_async_agents_are_blocked_too(exporter, admin):
    @tracereel.agent(name="refunds")
    async def refunds_async(order: str) -> str:
        RUNS.append("ran")
        return "refunded"

    kill_and_wait(admin, "refunds", reason="async too")
    with pytest.raises(tracereel.AgentDisabled, match="async too"):
        asyncio.run(refunds_async("A"))
    assert RUNS == []


def test_the_killed_span_records_the_kill(collector, admin):
    RUNS.clear()
    tracereel.configure(service_name="shop", endpoint=collector.url, exporter=InMemorySpanExporter())
    kill_and_wait(admin, "support", reason="wrong refunds")
    # Deterministic ids and times for the snapshot; the switches received so far stay in force.
    exported = InMemorySpanExporter()
    tracereel.configure(
        service_name="shop",
        endpoint=collector.url,
        exporter=exported,
        id_generator=IncrementalIds(),
        clock=TickingClock(),
        record_nondeterminism=False,
    )
    try:
        with pytest.raises(tracereel.AgentDisabled):
            support("A9")
        assert _simplify(exported) == snapshot(
            [
                {
                    "name": "invoke_agent support",
                    "span_id": 1,
                    "parent": None,
                    "start_s": 1.0,
                    "end_s": 4.0,
                    "status": "ERROR",
                    "attributes": {
                        "gen_ai.operation.name": "invoke_agent",
                        "gen_ai.agent.name": "support",
                        "gen_ai.agent.version": "1.0",
                        "tracereel.entrypoint": "test_kill_switch:support",
                        "tracereel.agent.input": '{"order":"A9"}',
                        "tracereel.killed": True,
                        "tracereel.killed.reason": "wrong refunds",
                        "error.type": "tracereel.AgentDisabled",
                    },
                    "events": [
                        (
                            "exception",
                            3.0,
                            {
                                "exception.type": "tracereel.AgentDisabled",
                                "exception.message": "agent 'support' version '1.0' is disabled by a kill switch: "
                                "wrong refunds",
                                "exception.escaped": "True",
                            },
                        )
                    ],
                },
                {
                    "name": "task_start support",
                    "span_id": 2,
                    "parent": 1,
                    "start_s": 2.0,
                    "end_s": 2.0,
                    "status": "UNSET",
                    "attributes": {
                        "tracereel.task.start": True,
                        "gen_ai.agent.name": "support",
                        "tracereel.agent.input": '{"order":"A9"}',
                        "tracereel.entrypoint": "test_kill_switch:support",
                        "gen_ai.agent.version": "1.0",
                    },
                    "events": [],
                },
            ]
        )
    finally:
        tracereel.shutdown()
    assert RUNS == []


def test_fail_open_keeps_the_last_known_switches_when_the_collector_goes_away(store, caplog):
    running, _ = start_collector(store)
    admin = CollectorClient(running.url)
    tracereel.configure(service_name="shop", endpoint=running.url, exporter=InMemorySpanExporter())
    try:
        kill_and_wait(admin, "refunds", reason="kept while away")
        with caplog.at_level(logging.INFO, logger="tracereel"):
            running.stop()
            wait_until(lambda: "kill switches not updated" in caplog.text, "the SDK to notice the collector is gone")
        assert blocked(refunds, "A") == "agent 'refunds' version '2.0' is disabled by a kill switch: kept while away"
        assert lookup("A") == "found"  # not killed: runs while the collector is away (fail-open)
    finally:
        tracereel.shutdown()


def test_fail_closed_blocks_once_the_state_is_unknown_for_longer_than_the_setting(store, monkeypatch):
    running, _ = start_collector(store)
    monkeypatch.setenv("TRACEREEL_KILL_SWITCH_FAIL_CLOSED_AFTER", "1.5")
    tracereel.configure(service_name="shop", endpoint=running.url, exporter=InMemorySpanExporter())
    try:
        kill_and_wait(CollectorClient(running.url))  # the state is known
        assert lookup("A") == "found"
        running.stop()
        message = wait_until(lambda: blocked(lookup, "A"), "calls to be blocked once the state is unknown")
        assert "the kill switch state is unknown" in message
        assert "TRACEREEL_KILL_SWITCH_FAIL_CLOSED_AFTER" in message
    finally:
        tracereel.shutdown()


def test_the_poller_can_be_turned_off(collector, admin, monkeypatch):
    tracereel.configure(service_name="shop", endpoint=collector.url, exporter=InMemorySpanExporter())
    try:
        kill_and_wait(admin, "lookup", reason="seen while the poller is on")
        monkeypatch.setenv("TRACEREEL_KILL_SWITCH", "off")
        tracereel.configure(service_name="shop", endpoint=collector.url, exporter=InMemorySpanExporter())
        # Off: no switch applies, not even the ones seen before (nothing would ever lift them).
        assert lookup("A") == "found"
        # A poller that is on again sees the kill: proof that it was in force all along.
        tracereel.configure(
            service_name="shop", endpoint=collector.url, exporter=InMemorySpanExporter(), kill_switch=True
        )
        wait_until(lambda: blocked(lookup, "A"), "a poller that is on to see the kill")
    finally:
        tracereel.shutdown()


@pytest.mark.parametrize(
    ("variable", "value", "accepted"),
    [
        ("TRACEREEL_KILL_SWITCH", "maybe", "1/true/yes/on or 0/false/no/off"),
        ("TRACEREEL_KILL_SWITCH_FAIL_CLOSED_AFTER", "-1", "a positive number of seconds"),
    ],
)
def test_bad_settings_name_the_variable(monkeypatch, variable, value, accepted):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        tracereel.configure(exporter=InMemorySpanExporter())
    assert variable in str(raised.value) and accepted in str(raised.value)

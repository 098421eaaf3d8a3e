"""Every command that talks to the collector works against one that requires a key (and says so without it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import tracereel
from tests.conftest import RunningCollector, start_collector
from tracereel.cli import main
from tracereel.client import CollectorClient, Unauthorized

KEY = "tr-test-key-7f3a"


@pytest.fixture
def keyed(store: Any) -> Iterator[RunningCollector]:
    running, thread = start_collector(store, api_key=KEY)
    yield running
    running.server.should_exit = True
    thread.join(20)


@pytest.fixture
def recorded(keyed: RunningCollector, agents: Any) -> str:
    """One run of the support agent, recorded into the keyed collector; its trace id."""
    tracereel.configure(service_name="keyed", endpoint=keyed.url, api_key=KEY, schedule_delay_millis=50)
    try:
        agents.reset()
        agents.support("Lost parcel", "ma@example.com")
        assert tracereel.flush(10)
    finally:
        tracereel.shutdown()
    keyed.wait_for_spans(5)
    (summary,) = CollectorClient(keyed.url, api_key=KEY).traces(agent="support", limit=5)
    return str(summary["trace_id"])


def _cli(*args: str, key: str | None = KEY) -> Any:
    env = {"TRACEREEL_API_KEY": key} if key else {"TRACEREEL_API_KEY": ""}
    return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)


def test_show_export_and_replay_send_the_key(keyed: RunningCollector, recorded: str, agents: Any, tmp_path: Path):
    shown = _cli("show", recorded, "--collector", keyed.url)
    assert shown.exit_code == 0, shown.output
    assert "invoke_agent support" in shown.output

    target = tmp_path / "trace.json"
    exported = _cli("export", recorded, "--collector", keyed.url, "-o", str(target))
    assert exported.exit_code == 0, exported.output
    assert json.loads(target.read_text())["trace_id"] == recorded

    agents.reset()
    agents.ARMED.set()
    replayed = _cli("replay", recorded, "--collector", keyed.url, "--json")
    assert replayed.exit_code == 0, replayed.output
    report = json.loads(replayed.output)
    assert report["status"] == "reproduced"
    # The replay's own trace was exported with the key too: the keyed collector stored it.
    replay_id = report["replay_trace_id"]
    client = CollectorClient(keyed.url, api_key=KEY)
    assert client.trace(replay_id)["trace_id"] == replay_id


@pytest.mark.parametrize("command", ["show", "export", "replay"])
def test_without_the_key_each_command_says_so_in_one_line(keyed: RunningCollector, recorded: str, command: str):
    result = _cli(command, recorded, "--collector", keyed.url, key=None)
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"Error: The collector at {keyed.url} refused the request")
    assert "TRACEREEL_API_KEY" in line


def test_the_endpoint_and_key_come_from_the_environment(keyed: RunningCollector, recorded: str):
    env = {"TRACEREEL_API_KEY": KEY, "TRACEREEL_ENDPOINT": keyed.url}
    result = CliRunner(env=env).invoke(main, ["show", recorded, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["trace_id"] == recorded


def test_the_demo_sends_the_key(keyed: RunningCollector):
    result = _cli("demo", "--endpoint", keyed.url, "--tasks", "3", "--spread-hours", "0")
    assert result.exit_code == 0, result.output
    assert "3 tasks" in result.output
    assert len(CollectorClient(keyed.url, api_key=KEY).traces(service=None, limit=50)) >= 3


def test_the_client_names_a_wrong_key_without_echoing_it(keyed: RunningCollector):
    with pytest.raises(Unauthorized) as caught:
        CollectorClient(keyed.url, api_key="wrong-key-123").traces()
    assert "wrong-key-123" not in str(caught.value)
    assert "wrong-key-123" not in repr(CollectorClient(keyed.url, api_key="wrong-key-123"))
    assert CollectorClient(keyed.url).health().status == "ok"  # /healthz needs no key

"""An agent whose key the collector refuses is told so, naming the settings to fix, not that the collector is down."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

import tracereel
from tests.conftest import RunningCollector, start_collector
from tests.support import clean_env

KEY = "tr-right-key-5c1e"


@pytest.fixture
def keyed(store: Any) -> Iterator[RunningCollector]:
    """A real collector (uvicorn on 127.0.0.1) that requires the key ``KEY``."""
    running, _ = start_collector(store, api_key=KEY)
    yield running
    running.stop()


def test_a_wrong_key_is_named_once_while_the_agent_keeps_running(keyed: RunningCollector, caplog: Any):
    caplog.set_level(logging.WARNING, logger="tracereel")
    tracereel.configure(
        service_name="refused", endpoint=keyed.url, api_key="tr-wrong-key", schedule_delay_millis=10, kill_switch=False
    )
    try:

        @tracereel.agent(name="refused_agent")
        def agent(x: int) -> int:
            return x + 1

        assert [agent(i) for i in range(3)] == [1, 2, 3]
        assert not tracereel.flush(10)  # refused: not exported
        assert [agent(i) for i in range(3)] == [1, 2, 3]
        assert not tracereel.flush(10)
    finally:
        tracereel.shutdown()
    lines = [r.getMessage() for r in caplog.records if r.name == "tracereel"]
    refused = [line for line in lines if "refused the key" in line]
    assert len(refused) == 1, lines
    assert "HTTP 401" in refused[0]
    assert "TRACEREEL_API_KEY" in refused[0] and "TRACEREEL_HEADERS" in refused[0]
    assert keyed.url in refused[0]
    assert not [line for line in lines if "is the collector running" in line], lines


def test_the_exit_line_says_the_spans_were_refused(keyed: RunningCollector):
    # A long schedule delay keeps the spans queued: the exit hook sends them, and is refused.
    code = """
        import tracereel

        @tracereel.agent(name="short_lived")
        def run(n):
            return n

        run(1)
        run(2)
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(
            TRACEREEL_ENDPOINT=keyed.url,
            TRACEREEL_API_KEY="tr-wrong-key",
            TRACEREEL_SCHEDULE_DELAY_MILLIS="600000",
            TRACEREEL_KILL_SWITCH="false",
            PYTEST_CURRENT_TEST="",
        ),
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert re.match(
        rf"tracereel: [1-9][0-9]* span\(s\) not exported to {re.escape(keyed.url)}/v1/traces at exit", lines[0]
    )
    assert "the collector refused them (HTTP 401)" in lines[0]
    assert "TRACEREEL_API_KEY" in lines[0] and "TRACEREEL_HEADERS" in lines[0]
    assert "Is the collector running" not in lines[0]

"""Replay fixtures: one real collector per test module, and a recorder that runs agents into it."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import tracereel
from tests.support import DEADLINE, collector_over, latest_trace

sys.path.insert(0, str(Path(__file__).parent))  # the agents under test import by name, like user code

import replay_agents

from tracereel.replay import fetch_trace

HERE = Path(__file__).parent


@dataclass
class ReplayCollector:
    """A real collector (uvicorn + embedded chDB) shared by one test module."""

    url: str
    app: Any


@pytest.fixture(scope="module")
def replay_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplayCollector]:
    """A collector on 127.0.0.1 over a fresh store, for one test module (starting one per test is slow)."""
    with collector_over(tmp_path_factory.mktemp("replay-store")) as (url, app):
        yield ReplayCollector(url, app)


@dataclass
class Recorded:
    """One recorded run: what the agent returned (or raised) and its trace from the collector."""

    result: Any
    error: BaseException | None
    trace_id: str
    trace: dict[str, Any]


class Recorder:
    """Runs agents with the SDK exporting to the test collector, then fetches their traces."""

    def __init__(self, collector: ReplayCollector) -> None:
        self.collector = collector
        self.url = collector.url

    def record(self, agent_name: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Recorded:
        """Run ``func`` for real and return its trace as the read API serves it."""
        since = time.time() - 0.5
        result, error = None, None
        try:
            result = func(*args, **kwargs)
            if hasattr(result, "__await__"):
                import asyncio

                result = asyncio.run(result)
        except Exception as exc:
            error = exc
        trace_id = self.latest(agent_name, since)
        return Recorded(result, error, trace_id, self.trace(trace_id))

    def latest(self, agent_name: str, since: float) -> str:
        """The newest trace of ``agent_name`` started after ``since``."""
        return latest_trace(self.url, agent_name, since)

    def trace(self, trace_id: str) -> dict[str, Any]:
        """A trace from the collector's read API."""
        assert tracereel.flush(DEADLINE), "the SDK could not export the recording"
        return fetch_trace(trace_id, self.url)


@pytest.fixture
def recorder(replay_collector: ReplayCollector) -> Iterator[Recorder]:
    """The SDK exporting to the module's collector; the test agents reset and disarmed."""
    tracereel.configure(service_name="replay-tests", endpoint=replay_collector.url, schedule_delay_millis=50)
    replay_agents.reset()
    yield Recorder(replay_collector)
    replay_agents.reset()
    tracereel.shutdown()


@pytest.fixture
def agents() -> Any:
    """The module of agents under test."""
    return replay_agents

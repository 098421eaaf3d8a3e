"""Eval fixtures: one real collector per test module, and a recorder that runs agents into it."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import tracereel
from tests.support import DEADLINE, collector_over, wait_until

sys.path.insert(0, str(Path(__file__).parent))  # the agents under test import by name, like user code

import eval_agents

from tracereel.replay import list_traces


@dataclass
class EvalCollector:
    """A real collector (uvicorn + embedded chDB) shared by one test module."""

    url: str


@pytest.fixture(scope="module")
def eval_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EvalCollector]:
    """A collector on 127.0.0.1 over a fresh store, for one test module."""
    with collector_over(tmp_path_factory.mktemp("eval-store")) as (url, _app):
        yield EvalCollector(url)


class Recorder:
    """Runs agents with the SDK exporting to the test collector; returns their trace ids."""

    def __init__(self, url: str) -> None:
        self.url = url

    def record(self, agent_name: str, func: Callable[..., Any], **kwargs: Any) -> str:
        since = time.time() - 0.5
        func(**kwargs)
        assert tracereel.flush(DEADLINE), "the SDK could not export the recording"
        found = wait_until(
            lambda: list_traces(self.url, since=str(since), agent=agent_name, limit=1),
            f"a trace of {agent_name} to reach the collector",
        )
        return str(found[0]["trace_id"])


@pytest.fixture
def recorder(eval_collector: EvalCollector) -> Iterator[Recorder]:
    """The SDK exporting to the module's collector; the test agents reset."""
    tracereel.configure(service_name="eval-tests", endpoint=eval_collector.url, schedule_delay_millis=50)
    eval_agents.reset()
    yield Recorder(eval_collector.url)
    eval_agents.reset()
    tracereel.shutdown()


@pytest.fixture
def agents() -> Any:
    """The module of agents under test (reset after the test)."""
    eval_agents.reset()
    yield eval_agents
    eval_agents.reset()

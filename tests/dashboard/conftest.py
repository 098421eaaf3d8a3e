"""Fixtures for the dashboard tests: a real collector filled by a real SDK-instrumented agent system."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_workload import run_workload

import tracereel

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


@pytest.fixture
def filled_collector(collector: Any) -> Iterator[Any]:
    """The test collector holding the traces of ``agent_workload.run_workload()`` (12 tasks)."""
    tracereel.configure(service_name="support-prod", endpoint=collector.url, schedule_delay_millis=50)
    try:
        run_workload(0)
        assert tracereel.flush()
    finally:
        tracereel.shutdown()
    yield collector


@pytest.fixture
def app_for(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A factory: an AppTest of the dashboard reading from the collector at ``url``."""
    from streamlit.testing.v1 import AppTest

    def make(url: str) -> AppTest:
        monkeypatch.setenv("TRACEREEL_ENDPOINT", url)
        return AppTest.from_file(str(APP), default_timeout=60)

    return make

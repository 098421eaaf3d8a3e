"""``score.NAME`` monitors (DESIGN.md "Production loop", "Gates and monitors"): the window's mean, refused names.

Tasks run through the real SDK to a collector under uvicorn, their scores posted through the
API; the monitor fires on the mean the test computes from what it sent and notifies a local receiver.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from tests.collector.scored_versions import BAD, per_task, run_version
from tests.conftest import RunningCollector, start_collector
from tests.monitor_support import Receiver, receiver
from tests.support import wait_until
from tracereel.cli import main
from tracereel.client import CollectorClient
from tracereel.contracts.monitors import MonitorDefinition


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with receiver() as rec:
        yield rec


def test_a_score_monitor_fires_on_the_windows_mean(store: Any, hooks: Receiver) -> None:
    running, _ = start_collector(store, monitor_interval=0.1, monitor_backoff=0.05)
    try:
        values = per_task(BAD)[:6]
        run_version(running, "3", values, via_api=True)
        api = CollectorClient(running.url)
        definition = {
            "name": "helpful",
            "metric": "score.helpfulness",
            "below": 0.6,
            "window": "1h",
            "min_tasks": 3,
            "notify": hooks.url(),
            "format": "webhook",
        }
        api.add_monitor(MonitorDefinition.model_validate(definition))
        wait_until(lambda: hooks.count() >= 1, "the monitor's notification", state=hooks.bodies)
        [fired] = hooks.bodies()
        assert (fired["event"], fired["metric"], fired["tasks"]) == ("firing", "score.helpfulness", len(values))
        assert fired["value"] == pytest.approx(sum(values) / len(values))
        assert "score.helpfulness = 0.39, below 0.6" in fired["summary"]
    finally:
        running.stop()


def test_a_monitor_on_a_malformed_score_name_is_refused_in_one_line(collector: RunningCollector) -> None:
    with pytest.raises(ValidationError, match="'has space' is not a score name"):
        MonitorDefinition.model_validate(
            {"name": "x", "metric": "score.has space", "below": 0.6, "notify": "https://example.com/hook"}
        )
    argv = ["monitor", "add", "x", "--metric", "score.", "--below", "0.6", "--notify", "https://example.com/hook"]
    result = CliRunner().invoke(main, [*argv, "--collector", collector.url], catch_exceptions=False)
    assert result.exit_code == 1
    assert (
        result.output
        == "Error: metric 'score.': '' is not a score name: a letter, then up to 99 letters, digits or _ . -\n"
    )
    assert CollectorClient(collector.url).monitors() == []

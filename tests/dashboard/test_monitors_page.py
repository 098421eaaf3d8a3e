"""The Monitors page under AppTest over a real collector evaluating monitors; its link opens the filtered Traces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from tests.conftest import RunningCollector, start_collector
from tests.monitor_support import receiver, send_tasks
from tests.support import wait_until
from tracereel.client import CollectorClient


@pytest.fixture
def watched(store: Any) -> Iterator[RunningCollector]:
    """A collector with a firing monitor (pager 2.0 fails), an ok one and an eval one without runs."""
    with receiver() as hooks:
        running, _ = start_collector(store, monitor_interval=0.1, monitor_backoff=0.05)
        try:
            api = CollectorClient(running.url)
            common = {"metric": "task_success_rate", "below": 0.5, "notify": hooks.url(), "window": "1h"}
            api.add_monitor({"name": "canary-success", "agent": "pager", "version": "2.0", **common})
            api.add_monitor({"name": "stable-success", "agent": "pager", "version": "1.0", **common})
            api.add_monitor(
                {
                    "name": "nightly",
                    "metric": "eval.pass_rate",
                    "dataset": "golden",
                    "below": 0.9,
                    "notify": hooks.url(),
                }
            )
            send_tasks(running.url, 3, success=False, version="2.0")
            send_tasks(running.url, 2, success=True, version="1.0")
            send_tasks(running.url, 4, success=True, agent="other")
            wait_until(lambda: hooks.count() == 1, "the canary monitor to page")
            states = lambda: {m.name: m.status and m.status.state for m in api.monitors()}  # noqa: E731
            wait_until(lambda: states()["stable-success"] == "ok", "the stable monitor to be judged", state=states)
            yield running
        finally:
            running.stop()


def test_states_values_history_and_the_link_to_the_traces(watched, app_for):
    at = app_for(watched.url)
    at.run()
    at.switch_page("views/monitors.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Monitors"
    tiles = {m.label: m.value for m in at.metric}
    assert tiles == {"Firing": "1", "OK": "1", "Insufficient data": "1"}
    table, history = (d.value for d in at.dataframe)
    rows = {r["monitor"]: r for r in table.to_dict("records")}
    assert rows["canary-success"]["state"] == "FIRING"
    assert rows["canary-success"]["value"] == "0.0%"
    assert rows["canary-success"]["fires when"] == "task_success_rate below 50.0%"
    assert rows["canary-success"]["filters"] == "agent=pager, version=2.0"
    assert rows["stable-success"]["state"] == "ok" and rows["stable-success"]["value"] == "100.0%"
    assert rows["nightly"]["state"] == "insufficient data"
    assert pd.isna(rows["stable-success"]["traces"])  # only a firing monitor links to its traces
    link = urlsplit(rows["canary-success"]["traces"])
    params = {k: v[0] for k, v in parse_qs(link.query).items()}
    assert link.path == "traces"
    assert (params["monitor"], params["agent"], params["version"]) == ("canary-success", "pager", "2.0")
    assert int(params["to"]) - int(params["from"]) == 3600

    # The firing monitor's history is shown first: it fired, and the page was delivered.
    assert at.selectbox(key="monitor_history").value == "canary-success"
    events = list(zip(history["event"], history["what"], strict=True))
    assert events[-1] == ("state", "FIRING: 0.0%")
    assert ("delivery", "trigger delivered") in events

    # The link: the Traces page with the monitor's filters and window, showing its 3 traces only.
    traces = app_for(watched.url)
    for key, value in params.items():
        traces.query_params[key] = value
    traces.run()
    traces.switch_page("views/traces.py").run()
    assert not traces.exception, traces.exception
    assert "The traces behind monitor **canary-success**: agent pager, version 2.0" in traces.info[0].value
    [listed] = [d.value for d in traces.dataframe]
    assert len(listed) == 3
    assert set(listed["version"]) == {"2.0"} and set(listed["agent"]) == {"pager"}

"""Each dashboard page under Streamlit's AppTest, reading from a real collector over HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from canary_traffic import Version, send

from tests.collector.otel_client import OtelClient
from tracereel.catalog import CATALOG
from tracereel.client import CollectorClient
from tracereel.rules import search_text


def _texts(at: Any) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success") for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


def _metric(at: Any, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_overview_shows_every_metric_with_trends(filled_collector, app_for):
    at = app_for(filled_collector.url).run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    labels = [m.label for m in at.metric]
    assert len(labels) == 20
    assert _metric(at, "Tasks") == "12"
    assert _metric(at, "Task success") == "75.0%"  # 2 refused by the guardrail, 1 escalated
    assert _metric(at, "Safety violations") == "16.7%"
    assert _metric(at, "Escalations") == "8.3%"
    assert _metric(at, "Groundedness") == "90.0%"
    assert _metric(at, "Cost coverage") == "100.0%"
    charts = at.get("plotly_chart")
    assert len(charts) == 8  # four trends, one per score name (the workload scores groundedness), three breakdowns
    # Filters: the canary alone.
    at.selectbox(key="agent").select("support").run()
    at.selectbox(key="version").select("1.5.0").run()
    assert not at.exception
    assert _metric(at, "Tasks") == "4"
    assert _metric(at, "Safety violations") == "50.0%"


def test_traces_table_search_and_filters(filled_collector, app_for):
    at = app_for(filled_collector.url)
    at.run()
    at.switch_page("views/traces.py").run()
    assert not at.exception
    assert at.title[0].value == "Traces"
    table = at.dataframe[0].value
    assert len(table) == 12
    assert list(table.columns[:6]) == ["started", "trace id", "root span", "agent", "version", "status"]
    assert table["started"].is_monotonic_decreasing  # newest first
    assert set(table["version"]) == {"1.4.0", "1.5.0"}
    assert (table["cost (USD)"] > 0).sum() >= 9  # every task that reached the LLM has a cost
    one = table["trace id"].iloc[3]
    at.text_input(key="search").input(one[:12]).run()
    assert list(at.dataframe[0].value["trace id"]) == [one]
    at.text_input(key="search").input("1.5.0").run()
    assert len(at.dataframe[0].value) == 4
    at.text_input(key="search").input("no-such-thing").run()
    assert len(at.dataframe[0].value) == 0


def test_traces_page_searches_payloads_on_the_collector(filled_collector, app_for):
    with filled_collector.client() as http:
        listed = http.get("/api/v1/traces", params={"limit": 50}).json()["traces"]
        spans = {t["trace_id"]: http.get(f"/api/v1/traces/{t['trace_id']}").json()["spans"] for t in listed}
    # The workload's card complaint (tasks 5 and 11): both words in some span of each, whatever the case.
    want = [
        t["trace_id"]
        for t in listed
        if all(any(word in search_text(s) for s in spans[t["trace_id"]]) for word in ("charged", "twice"))
    ]
    assert len(want) == 2
    at = app_for(filled_collector.url)
    at.run()
    at.switch_page("views/traces.py").run()
    at.text_input(key="payload_search").input("CHARGED Twice").run()
    assert not at.exception
    assert list(at.dataframe[0].value["trace id"]) == want
    # Finding by id still narrows the rows shown.
    at.text_input(key="search").input(want[1][:12]).run()
    assert list(at.dataframe[0].value["trace id"]) == [want[1]]
    at.text_input(key="search").input("").run()
    at.text_input(key="payload_search").input("nothing-says-this").run()
    assert "contain every word" in at.info[0].value


def test_trace_detail_shows_tree_signals_and_replay_command(filled_collector, app_for):
    with filled_collector.client() as http:
        traces = http.get("/api/v1/traces", params={"limit": 50}).json()["traces"]
    # The task whose refund needed approval: escalated, with a ValueError and a guardrail pass.
    escalated = next(t for t in traces if t["error_count"] == 1 and t["task_success"] is False)
    at = app_for(filled_collector.url)
    at.run()
    at.switch_page("views/trace.py")
    at.query_params["trace_id"] = escalated["trace_id"]
    at.run()
    assert not at.exception
    assert at.code[0].value == f"tracereel replay {escalated['trace_id']} --collector {filled_collector.url}"
    text = _texts(at)
    assert "escalated to a human" in text and "refund over the approval limit" in text
    assert "check input" in text and "delegate to billing" in text  # the plan
    assert "input_pii" in text
    assert "ValueError" in text
    labels = [e.label for e in at.expander]
    assert len(labels) == escalated["span_count"]
    assert labels[0].startswith("1. ") and "invoke_agent support" in labels[0]
    assert any("chat gpt-4o-mini" in label for label in labels)
    assert any("ERROR" in label and "issue_refund" in label for label in labels)
    assert len(at.get("plotly_chart")) == 1  # the timeline


def test_trace_page_unknown_and_malformed_ids(filled_collector, app_for):
    at = app_for(filled_collector.url)
    at.run()
    at.switch_page("views/trace.py").run()
    assert "Enter a trace id" in _texts(at)
    at.text_input[0].input("0" * 32).run()
    assert not at.exception
    assert f"No trace with id `{'0' * 32}`" in at.warning[0].value
    at.text_input[0].input("not-a-trace").run()
    assert "is not a trace id" in at.error[0].value


def _compare_rows(at: Any, stable: str, canary: str) -> dict[str, tuple[str, str, str]]:
    table = at.dataframe[0].value
    columns = zip(table[stable], table[canary], table["verdict"], strict=True)
    return dict(zip(table["metric"], columns, strict=True))


def test_compare_with_few_tasks_shows_no_verdict(filled_collector, app_for):
    at = app_for(filled_collector.url)
    at.run()
    at.switch_page("views/compare.py").run()
    assert not at.exception
    assert at.selectbox(key="compare_stable").value == "1.4.0"  # most tasks: presumed stable
    assert at.selectbox(key="compare_canary").value == "1.5.0"
    texts = _texts(at)
    assert "canary `1.5.0` (4 tasks) against stable `1.4.0` (8 tasks) — verdict **inconclusive**" in texts
    assert "0 better, 0 worse, 0 no difference, 9 insufficient data" in texts
    # Too few on both sides: more canary tasks alone would not do.
    assert "the baseline has 8 tasks (needs 20)" in texts and "More data on both versions is needed" in texts
    rows = _compare_rows(at, "1.4.0", "1.5.0")
    # Stable: 7 of 8 succeed (INV-003 escalated); canary: 2 of 4 (both refused by the guardrail). A raw
    # difference of 37.5 points, but 4 tasks are no evidence: not "worse", and no colour.
    assert rows["Task success"] == ("87.5%", "50.0%", "insufficient_data")
    assert rows["Safety violations"] == ("0.0%", "50.0%", "insufficient_data")
    assert not at.get("plotly_chart")  # no interval to draw


def test_compare_shows_the_gates_verdicts_with_intervals(collector, app_for):
    otel = OtelClient(collector, batch=True)
    send(otel, Version("1.0", 300), Version("2.0", 100, success=0.6, latency_ms=1200, cost_usd=0.01))
    otel.shutdown()
    at = app_for(collector.url)
    at.run()
    at.switch_page("views/compare.py").run()
    assert not at.exception
    texts = _texts(at)
    assert "canary `2.0` (100 tasks) against stable `1.0` (300 tasks) — verdict **fail**" in texts
    assert "fail: task_success_rate is significantly worse" in texts
    rows = _compare_rows(at, "1.0", "2.0")
    # The same verdicts as `tracereel gate` (tests/collector/test_compare.py checks those against the data).
    gate = CollectorClient(collector.url).compare("support", "1.0", "2.0", start=time.time() - 86400)
    labels = {CATALOG[k].label: m.verdict for k, m in gate.metrics.items()}
    assert {label: row[2] for label, row in rows.items()} == labels
    assert rows["Task success"][2] == "worse" and rows["Latency p95"][2] == "worse"
    assert rows["Tool errors"][2] == "no_difference"
    # The chart: each rate's difference with its interval as error bars; colour only where significant.
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    points = figure["data"][0]
    colours = dict(zip(points["x"], points["marker"]["color"], strict=True))
    assert colours["Task success"] == "#cf222e"  # worse
    assert colours["Tool errors"] == colours["Safety violations"] == "#8c959f"  # neutral: no evidence
    success = gate.metrics["task_success_rate"]
    assert success.ci is not None and success.effect is not None
    high, low = success.ci[1], success.ci[0]
    assert high is not None and low is not None and high < 0  # worse: the interval lies below 0
    i = points["x"].index("Task success")
    assert points["error_y"]["array"][i] == pytest.approx((high - success.effect) * 100)
    assert points["error_y"]["arrayminus"][i] == pytest.approx((success.effect - low) * 100)
    # The table shows each metric's interval at its own level: task success at 96%, the rest finer.
    table = at.dataframe[0].value
    levels = dict(zip(table["metric"], table["level"], strict=True))
    assert levels["Task success"] == "96%" and levels["Tool errors"] == "99.75%"


def test_empty_store_says_so_on_every_page(collector, app_for):
    at = app_for(collector.url)
    at.run()
    assert not at.exception
    assert "No tasks in this window" in at.info[0].value
    for page, message in (("views/traces.py", "No traces in this window"), ("views/compare.py", "two versions")):
        at.switch_page(page).run()
        assert not at.exception
        assert message in at.info[0].value


def test_collector_down_is_a_message_not_a_traceback(app_for, unused_port):
    url = f"http://127.0.0.1:{unused_port}"
    at = app_for(url)
    at.run()
    for page in ("views/overview.py", "views/traces.py", "views/compare.py", "views/trace.py"):
        at.switch_page(page)
        if page.endswith("trace.py"):
            at.query_params["trace_id"] = "a" * 32
        at.run()
        assert not at.exception, page
        assert "Collector unavailable" in at.error[0].value, page
        assert url in at.error[0].value


def test_a_replay_trace_names_its_original_and_is_found_by_the_originals_id(collector, app_for):
    import time

    from tests.collector.otlp_payloads import protobuf_request

    original, replay = "0c" * 16, "0d" * 16
    now = time.time_ns() - 60 * 10**9  # inside the default window
    agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support"}
    spans = [
        {
            "trace_id": original,
            "span_id": "01" * 8,
            "name": "invoke_agent support",
            "start": now,
            "end": now + 10**6,
            "attributes": agent,
        },
        {
            "trace_id": replay,
            "span_id": "02" * 8,
            "name": "invoke_agent support",
            "start": now + 10**9,
            "end": now + 10**9 + 10**6,
            "attributes": {
                **agent,
                "tracereel.replay.of": original,
                "tracereel.replay.mode": "live",
                "tracereel.replay.diverged_at": "support/tool:lookup#0",
            },
        },
    ]
    with collector.client() as http:
        sent = http.post(
            "/v1/traces", content=protobuf_request(spans), headers={"content-type": "application/x-protobuf"}
        )
        assert sent.status_code == 200
    at = app_for(collector.url)
    at.run()
    at.switch_page("views/trace.py")
    at.query_params["trace_id"] = replay
    at.run()
    assert not at.exception
    note = at.info[0].value
    assert f"replay (live mode) of trace `{original}`" in note
    assert "diverged at `support/tool:lookup#0`" in note

    at.switch_page("views/traces.py").run()
    # A replay is not the agent's traffic: listed only when the checkbox asks for it.
    assert list(at.dataframe[0].value["trace id"]) == [original]
    assert "replay of" not in at.dataframe[0].value.columns
    at.checkbox(key="include_replays").check().run()
    assert len(at.dataframe[0].value) == 2
    at.text_input(key="search").input(original).run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert sorted(shown["trace id"]) == [original, replay]
    assert list(shown.sort_values("trace id")["replay of"]) == ["", original]

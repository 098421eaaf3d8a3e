"""The Evaluations page under AppTest and in headless Chromium, over eval runs a real collector stores;
the Trace page's commands."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.collector.otlp_payloads import protobuf_request
from tests.eval_reports import CASES, report
from tests.support import DEADLINE, claim_port, clean_env, wait_http
from tracereel.client import CollectorClient

CASE_TRACE = "0e" * 16
CHROMIUM = "/usr/bin/chromium"
WAIT_MS = int(DEADLINE * 1000)


@pytest.fixture
def two_runs(collector: Any) -> Any:
    """The collector holding two runs of one golden set: run-2 breaks cancel-order and fixes order-status."""
    api = CollectorClient(collector.url)
    api.upload_eval_run(report("run-1", started_at="2025-05-01T10:00:00+00:00", failing=("order-status",)))
    api.upload_eval_run(
        report(
            "run-2",
            started_at="2025-05-02T10:00:00+00:00",
            failing=("cancel-order",),
            baseline="run-1",
            trace_ids={"refund-lost-order": CASE_TRACE},
        )
    )
    api.upload_eval_run(report("other-run", dataset="billing-golden", started_at="2025-04-01T10:00:00+00:00"))
    return collector


def _texts(at: Any) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success") for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


def _open(at: Any) -> Any:
    at.run()
    at.switch_page("views/evals.py").run()
    assert not at.exception, at.exception
    return at


def test_the_history_a_runs_cases_its_tags_and_two_runs_side_by_side(two_runs, app_for):
    at = _open(app_for(two_runs.url))
    assert at.title[0].value == "Evaluations"
    # The dataset run most recently comes first, its newest run selected.
    assert at.selectbox(key="eval_dataset").value == "support-golden"
    assert at.selectbox(key="eval_run").value == "run-2"
    assert next(m.value for m in at.metric if m.label == "Runs") == "2"
    assert next(m.value for m in at.metric if m.label == "Latest pass rate") == "75.0%"
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # the history, the tag breakdown
    runs, cases, tags, pairs = (d.value for d in at.dataframe)
    assert list(runs["run id"]) == ["run-2", "run-1"]

    assert list(cases["case"]) == [case_id for case_id, _ in CASES]
    assert list(cases["passed"]) == [True, True, True, False]
    assert list(cases["score: exact"]) == ["pass", "pass", "pass", "fail"]
    assert "expected 'refunded 40 EUR'" in cases["reasons"].iloc[3]
    assert cases["trace"].iloc[0] == f"trace?trace_id={CASE_TRACE}"
    assert cases["trace"].isna().sum() == 3  # the other cases have no trace

    by_tag = {(r["tag"], r["value"]): (r["cases"], r["passed"]) for r in tags.to_dict("records")}
    assert by_tag[("topic", "orders")] == (2, 1)
    assert by_tag[("topic", "refunds")] == (2, 2)
    assert by_tag[("persona", "customer")] == (3, 2)
    assert by_tag[("style", "angry")] == (1, 0)
    assert [t for t, _ in by_tag][:1] == ["topic"]

    # Compared with its baseline by default: one regression, one fix, marked and listed first.
    assert at.selectbox(key="eval_other").value == "run-1"
    assert "**1 regressions**, **1 fixes**" in _texts(at)
    assert "Regressions against baseline `run-1`: `cancel-order`" in _texts(at)
    assert list(pairs["case"][:2]) == ["cancel-order", "order-status"]
    assert list(pairs["change"][:2]) == ["regression", "fix"]
    assert list(pairs["before"][:2]) == ["passed", "failed"] and list(pairs["after"][:2]) == ["failed", "passed"]
    assert pairs["Δ llm_judge"].iloc[0] == pytest.approx(-0.7)
    assert set(pairs["change"][2:]) == {"still passing"}


def test_another_dataset_and_run_can_be_chosen_and_linked(two_runs, app_for):
    at = _open(app_for(two_runs.url))
    at.selectbox(key="eval_run").select("run-1").run()
    assert not at.exception
    assert at.query_params["run"] == ["run-1"] or at.query_params["run"] == "run-1"
    cases = at.dataframe[1].value
    assert list(cases["passed"]) == [True, True, False, True]
    # The older run against the newer: the same changes, the same direction.
    assert "From `run-1` (75%) to `run-2` (75%): **1 regressions**, **1 fixes**." in _texts(at)

    at.selectbox(key="eval_dataset").select("billing-golden").run()
    assert not at.exception
    assert at.selectbox(key="eval_run").value == "other-run"
    assert "This dataset has one run" in _texts(at)

    # A link to a run opens it.
    linked = app_for(two_runs.url)
    linked.run()
    linked.switch_page("views/evals.py")
    linked.query_params["dataset"] = "support-golden"
    linked.query_params["run"] = "run-1"
    linked.run()
    assert not linked.exception
    assert linked.selectbox(key="eval_run").value == "run-1"


def test_no_runs_is_a_one_line_hint_and_a_collector_down_is_a_message(collector, app_for, unused_port):
    at = _open(app_for(collector.url))
    assert "`tracereel eval golden.yaml`" in at.info[0].value
    url = f"http://127.0.0.1:{unused_port}"
    down = app_for(url)
    down.run()
    down.switch_page("views/evals.py").run()
    assert not down.exception
    assert "Collector unavailable" in down.error[0].value and url in down.error[0].value


def test_the_trace_page_shows_the_dataset_command_and_names_an_eval_case_run(collector, app_for):
    now = time.time_ns() - 60 * 10**9
    attributes = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "support",
        "tracereel.eval.run_id": "run-7",
        "tracereel.eval.dataset": "support-golden",
        "tracereel.eval.case_id": "refund-lost-order",
        "tracereel.eval.variant": "fault:tool:lookup=timeout",
    }
    span = {"trace_id": CASE_TRACE, "span_id": "01" * 8, "start": now, "end": now + 10**6, "attributes": attributes}
    with collector.client() as http:
        sent = http.post(
            "/v1/traces", content=protobuf_request([span]), headers={"content-type": "application/x-protobuf"}
        )
        assert sent.status_code == 200
    at = app_for(collector.url)
    at.run()
    at.switch_page("views/trace.py")
    at.query_params["trace_id"] = CASE_TRACE
    at.run()
    assert not at.exception
    assert [c.value for c in at.code[:2]] == [
        f"tracereel replay {CASE_TRACE} --collector {collector.url}",
        f"tracereel dataset add golden.yaml {CASE_TRACE}",
    ]
    note = at.info[0].value
    assert "case `refund-lost-order` (variant `fault:tool:lookup=timeout`) in eval run `run-7`" in note
    assert "dataset `support-golden`" in note


@pytest.fixture
def same_second(collector: Any) -> Any:
    """Two runs started in the same second, stored in the order they ran: the newer breaks cancel-order."""
    api = CollectorClient(collector.url)
    api.upload_eval_run(report("older-run", started_at="2025-05-01T10:00:00.000100+00:00"))
    api.upload_eval_run(report("newer-run", started_at="2025-05-01T10:00:00.000400+00:00", failing=("cancel-order",)))
    return collector


@pytest.mark.parametrize(("picked", "other"), [("older-run", "newer-run"), ("newer-run", "older-run")])
def test_runs_of_the_same_second_compare_older_to_newer_whichever_is_picked_first(same_second, app_for, picked, other):
    at = app_for(same_second.url)
    at.run()
    at.switch_page("views/evals.py")
    at.query_params["run"] = picked
    at.query_params["other"] = other
    at.run()
    assert not at.exception, at.exception
    assert (at.selectbox(key="eval_run").value, at.selectbox(key="eval_other").value) == (picked, other)
    assert "From `older-run` (100%) to `newer-run` (75%): **1 regressions**, **0 fixes**." in _texts(at)
    pairs = at.dataframe[-1].value
    assert (pairs["case"].iloc[0], pairs["change"].iloc[0]) == ("cancel-order", "regression")
    assert (pairs["before"].iloc[0], pairs["after"].iloc[0]) == ("passed", "failed")
    # The history chart gives each run its own step (oldest first), not one vertical line in time.
    history = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert history["layout"]["xaxis"]["type"] == "category"
    assert [x.split(" · ")[0] for x in history["data"][0]["x"]] == ["#1", "#2"]
    assert history["data"][0]["customdata"] == ["older-run", "newer-run"]


def test_a_skipped_case_is_shown_as_skipped_and_left_out_of_the_counts(collector, app_for):
    body = report("with-skip", failing=("cancel-order",))
    body["cases"][0].update(status="skipped", passed=False, skip_reason="no tool result has text", scores={})
    body["pass_rate"] = 2 / 3
    del body["counts"]
    CollectorClient(collector.url).upload_eval_run(body)
    at = _open(app_for(collector.url))
    assert "**2 passed**, **1 failed**, **1 skipped** (not in the pass rate)" in _texts(at)
    cases = at.dataframe[1].value
    assert list(cases["status"]) == ["skipped", "passed", "passed", "failed"]
    assert cases["reasons"].iloc[0] == "skipped: no tool result has text"


@pytest.fixture
def dashboard(same_second: Any) -> Iterator[str]:
    """``tracereel dashboard`` as a real process over the collector with the two same-second runs."""
    port = claim_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tracereel", "dashboard", "--collector", same_second.url, "--port", str(port)],
        env=clean_env(),
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/_stcore/health", process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.browser
def test_in_the_browser_a_regression_shows_as_a_regression_in_either_order(dashboard):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1400})
            page.set_default_timeout(WAIT_MS)
            for picked, other in (("newer-run", "older-run"), ("older-run", "newer-run")):
                page.goto(f"{dashboard}/evals?dataset=support-golden&run={picked}&other={other}")
                page.get_by_text("Two runs side by side").wait_for()
                summary = page.get_by_text("From older-run (100%) to newer-run (75%)")
                expect(summary).to_have_count(1, timeout=WAIT_MS)
                expect(summary).to_contain_text("1 regressions, 0 fixes")
                expect(page.get_by_test_id("stException")).to_have_count(0)
                assert "Traceback" not in page.inner_text("body")
                # Each run has its own step on the history chart's axis.
                ticks = page.locator(".xtick text")
                expect(ticks.filter(has_text="#1 ·")).to_have_count(1, timeout=WAIT_MS)
                expect(ticks.filter(has_text="#2 ·")).to_have_count(1, timeout=WAIT_MS)
        finally:
            browser.close()

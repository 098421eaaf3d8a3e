"""A golden set from a real recorded trace, end to end: record into a real collector, ``dataset add``,
``eval`` passes; the agent changes and the eval fails with the divergence as the reason."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml
from eval_support import cli

from tracereel import semconv as sc
from tracereel.client import CollectorClient


def test_a_recorded_failure_becomes_a_golden_case_that_gates_a_change(tmp_path: Path, recorder, agents) -> None:
    trace_id = recorder.record("refunds", agents.handle, ticket="my order B2 never arrived")
    golden = tmp_path / "golden.yaml"

    added = cli("dataset", "add", str(golden), trace_id, "--tag", "topic=refunds", "--collector", recorder.url)
    assert added.exit_code == 0, added.output
    data = yaml.safe_load(golden.read_text())
    (case,) = data["cases"]
    assert case["input"] == {"ticket": "my order B2 never arrived", "order_id": "B2"}
    assert case["expected"] == "refunded 40 EUR"
    assert case["tags"] == {"topic": "refunds"}
    assert (tmp_path / case["trace"]).is_file() and case["trace"] == f"traces/{trace_id}.json"

    # A second case appended by hand-written text keeps the first case's formatting untouched.
    before = golden.read_text()
    again = cli("dataset", "add", str(golden), trace_id, "--id", "second", "--collector", recorder.url)
    assert again.exit_code == 0, again.output
    assert golden.read_text().startswith(before)

    passed = cli("eval", str(golden), "--json", "--no-upload", "--junit", str(tmp_path / "results.xml"))
    assert passed.exit_code == 0, passed.output
    report = json.loads(passed.stdout)
    assert report["pass_rate"] == 1.0 and report["gate"] == {"passed": True, "reasons": []}
    assert [c["output"] for c in report["cases"]] == ["refunded 40 EUR"] * 2
    assert all(c["trace_id"] and len(c["trace_id"]) == 32 for c in report["cases"])
    suite = ET.parse(tmp_path / "results.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "0"

    agents.BEHAVIOUR["suffix"] = " (and sorry)"
    changed = cli("eval", str(golden), "--json", "--no-upload")
    assert changed.exit_code == 1
    report = json.loads(changed.stdout)
    assert report["pass_rate"] == 0.0
    assert 'expected "refunded 40 EUR", got "refunded 40 EUR (and sorry)"' == report["cases"][0]["reasons"]["exact"]
    assert report["gate"]["reasons"][0].startswith("pass rate 0.0% < 100.0%")

    agents.BEHAVIOUR.clear()
    agents.BEHAVIOUR["extra_call"] = True
    diverged = cli("eval", str(golden), "--no-upload")
    assert diverged.exit_code == 1
    assert (
        "FAIL second: diverged (different_call) at refunds / llm:fake-model, call 1 there [llm:fake-model#1]: "
        "the agent called tool:lookup_order where the recording has llm:fake-model#1" in diverged.stdout
    )


def test_each_case_run_is_a_trace_marked_with_the_eval_attributes(tmp_path: Path, recorder, agents) -> None:
    from tracereel.evals import run
    from tracereel.replay import fetch_trace

    trace_id = recorder.record("refunds", agents.handle, ticket="my order B2 never arrived")
    golden = tmp_path / "golden.yaml"
    assert cli("dataset", "add", str(golden), trace_id, "--id", "lost", "--collector", recorder.url).exit_code == 0

    report = run(golden, upload=False)
    (case,) = report.cases
    assert case.passed and case.trace_id
    spans = fetch_trace_when_stored(recorder, case.trace_id, fetch_trace)
    root = next(s for s in spans if not s.get("parent_span_id"))
    attrs = root["attributes"]
    assert attrs[sc.EVAL_RUN_ID] == report.run_id
    assert attrs[sc.EVAL_DATASET] == "golden"
    assert attrs[sc.EVAL_CASE_ID] == "lost"
    assert attrs[sc.REPLAY_OF] == trace_id  # linked to its source


def fetch_trace_when_stored(recorder, trace_id: str, fetch_trace) -> list[dict]:
    import tracereel
    from tests.support import DEADLINE, wait_until
    from tracereel.replay import CannotReplay

    assert tracereel.flush(DEADLINE)

    def spans() -> list[dict] | None:
        try:
            return fetch_trace(trace_id, recorder.url)["spans"]
        except CannotReplay:
            return None

    return wait_until(spans, f"the case run's trace {trace_id}")


def test_the_run_is_stored_in_the_collector_and_served_back(tmp_path: Path, recorder, agents) -> None:
    trace_id = recorder.record("refunds", agents.handle, ticket="my order B2 never arrived")
    golden = tmp_path / "golden-stored.yaml"
    assert cli("dataset", "add", str(golden), trace_id, "--collector", recorder.url).exit_code == 0

    result = cli("eval", str(golden), "--json", "--collector", recorder.url)
    assert result.exit_code == 0, result.output
    assert not [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    report = json.loads(result.stdout)
    client = CollectorClient(recorder.url)
    listed = client.eval_runs(dataset="golden-stored")
    assert [r.run_id for r in listed] == [report["run_id"]]
    assert listed[0].pass_rate == report["pass_rate"] == 1.0
    assert client.eval_run(report["run_id"]).model_dump(mode="json")["cases"] == report["cases"]

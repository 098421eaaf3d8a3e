"""From a review queue to a golden set: verdicts given in a queue become cases (``dataset add-reviewed``),
and ``tracereel eval`` replays them offline, passing and failing as the reviewer judged."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from eval_support import cli

from tracereel.client import CollectorClient


def test_reviewed_traces_become_cases_that_replay_offline_as_reviewed(tmp_path: Path, recorder, agents) -> None:
    traces = [recorder.record("refunds", agents.handle, ticket=f"order {n} never arrived") for n in range(3)]
    client = CollectorClient(recorder.url)
    client.add_review_queue("refund-review", "status = ok")
    assert {i.trace_id for i in client.review_items("refund-review")} == set(traces)
    right, wrong, unsaid = traces
    client.review("refund-review", right, "pass", note="correct refund")
    client.review("refund-review", wrong, "fail", expected="escalated to a human", note="needs a person")
    client.review("refund-review", unsaid, "fail")

    golden = tmp_path / "golden.yaml"
    added = cli("dataset", "add-reviewed", str(golden), "--queue", "refund-review", "--collector", recorder.url)
    assert added.exit_code == 0, added.output
    assert f"skipped trace {unsaid}: failed without an expected value" in added.output
    assert added.output.endswith("2 case(s) added from review queue refund-review, 1 skipped\n")
    cases = {c["trace"]: c for c in yaml.safe_load(golden.read_text())["cases"]}
    assert set(cases) == {f"traces/{right}.json", f"traces/{wrong}.json"}
    assert all((tmp_path / path).is_file() for path in cases)
    passed_case, failed_case = cases[f"traces/{right}.json"], cases[f"traces/{wrong}.json"]
    assert passed_case["input"] == {"ticket": "order 0 never arrived", "order_id": "B2"}
    assert (passed_case["expected"], passed_case["tags"]) == (
        "refunded 40 EUR",
        {"review": "refund-review", "verdict": "pass"},
    )
    assert (failed_case["expected"], failed_case["tags"]["verdict"]) == ("escalated to a human", "fail")

    # Run again: nothing is added twice.
    before = golden.read_text()
    again = cli("dataset", "add-reviewed", str(golden), "--queue", "refund-review", "--collector", recorder.url)
    assert again.exit_code == 0 and "0 case(s) added" in again.output and golden.read_text() == before

    evaluated = cli("eval", str(golden), "--json", "--no-upload")
    assert evaluated.exit_code == 1, evaluated.output
    report = json.loads(evaluated.stdout)
    outcome = {c["id"]: c["passed"] for c in report["cases"]}
    ids = {c["trace"]: c["id"] for c in yaml.safe_load(golden.read_text())["cases"]}
    assert outcome == {ids[f"traces/{right}.json"]: True, ids[f"traces/{wrong}.json"]: False}
    failing = next(c for c in report["cases"] if not c["passed"])
    assert failing["reasons"]["exact"] == 'expected "escalated to a human", got "refunded 40 EUR"'


def test_an_unknown_queue_is_one_line_and_no_file(tmp_path: Path, recorder) -> None:
    golden = tmp_path / "golden.yaml"
    refused = cli("dataset", "add-reviewed", str(golden), "--queue", "nobody", "--collector", recorder.url)
    assert refused.exit_code == 2
    assert "cannot read review queue nobody" in refused.output and "no review queue named nobody" in refused.output
    assert not golden.exists()

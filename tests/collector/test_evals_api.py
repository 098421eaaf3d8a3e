"""Eval run history: POST /api/v1/evals/runs stores a report, the two GETs read it back; bad input changes nothing."""

from __future__ import annotations

import copy
import gzip
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.eval_reports import report
from tracereel.collector.store import EVAL_RUNS_TABLE
from tracereel.contracts.evals import EvalReport

RUNS = "/api/v1/evals/runs"
JSON_TYPE = {"content-type": "application/json"}


def _post(http: TestClient, body: Any, headers: dict[str, str] | None = None) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(RUNS, content=content, headers={**JSON_TYPE, **(headers or {})})


def _stored(collector: Any) -> int:
    return collector.store.query(f"SELECT count() FROM {EVAL_RUNS_TABLE}")[0][0]


def test_a_posted_report_is_listed_newest_first_and_read_back_as_posted(asgi_collector):
    first = report("run-1", started_at="2025-05-01T10:00:00+00:00")
    second = report("run-2", started_at="2025-05-02T10:00:00Z", failing=("cancel-order",), baseline="run-1")
    other = report("run-3", dataset="billing-golden", started_at="2025-05-03T10:00:00+00:00")
    with asgi_collector.client() as http:
        for body in (first, second, other):
            answer = _post(http, body)
            assert answer.status_code == 201, answer.text
            assert answer.json() == {"run_id": body["run_id"]}
        everything = http.get(RUNS).json()["runs"]
        support = http.get(RUNS, params={"dataset": "support-golden"}).json()["runs"]
        newest = http.get(RUNS, params={"limit": 1}).json()["runs"]
        assert http.get(RUNS, params={"dataset": "nobody"}).json() == {"runs": []}
        assert http.get(f"{RUNS}/run-2").json() == second
    assert [r["run_id"] for r in everything] == ["run-3", "run-2", "run-1"]
    assert [r["run_id"] for r in support] == ["run-2", "run-1"]
    assert [r["run_id"] for r in newest] == ["run-3"]
    assert support[0] == {
        "run_id": "run-2",
        "dataset": "support-golden",
        "started_at": "2025-05-02T10:00:00+00:00",
        "agent": "support.agent:handle",
        "pass_rate": 0.75,
        "scores": {"exact": 0.75, "llm_judge": pytest.approx(0.725)},
        "case_count": 4,
        "passed_count": 3,
        "skipped_count": 0,
        "gate_passed": False,
        "regressions": ["cancel-order"],
        "baseline_run_id": "run-1",
    }
    assert "cases" not in support[0]


def test_the_client_calls_match_the_endpoints(collector):
    from tracereel.client import CollectorClient, NotFound

    api = CollectorClient(collector.url)
    body = EvalReport.model_validate(report("client-run"))
    assert api.upload_eval_run(body).run_id == "client-run"
    assert [r.run_id for r in api.eval_runs(dataset="support-golden", limit=5)] == ["client-run"]
    assert api.eval_run("client-run") == body
    with pytest.raises(NotFound, match="no eval run with id nope"):
        api.eval_run("nope")


def test_a_report_stored_before_case_status_existed_loads_with_its_status_derived(asgi_collector):
    from tracereel.collector.query.evals import StoredEvalRun, store_eval_run
    from tracereel.contracts.evals import utc_time

    # The JSON an older collector stored as it was posted: no case status, no counts, no fixes.
    old = report("old-run", failing=("cancel-order",))
    for case in old["cases"]:
        del case["status"], case["skip_reason"]
    del old["counts"], old["fixes"]
    row = StoredEvalRun(
        run_id="old-run",
        dataset=old["dataset"],
        started_at=utc_time(old["started_at"]),
        agent=old["agent"],
        pass_rate=old["pass_rate"],
        scores=old["scores"],
        case_count=4,
        passed_count=3,
        gate_passed=False,
        regressions=[],
        baseline_run_id="",
        report_json=json.dumps(old),
    )
    assert store_eval_run(asgi_collector.store, row)
    with asgi_collector.client() as http:
        loaded = http.get(f"{RUNS}/old-run").json()
        listed = http.get(RUNS).json()["runs"]
    assert [c["status"] for c in loaded["cases"]] == ["passed", "passed", "passed", "failed"]
    assert loaded["counts"] == {"total": 4, "passed": 3, "failed": 1, "skipped": 0}
    assert listed[0]["run_id"] == "old-run" and listed[0]["skipped_count"] == 0


def test_a_skipped_case_is_counted_apart_and_the_openapi_document_declares_the_report(asgi_collector):
    body = report("with-skips")
    body["cases"][3].update(status="skipped", passed=False, skip_reason="no tool result has text", scores={})
    body["pass_rate"] = 1.0
    del body["counts"]
    with asgi_collector.client() as http:
        assert _post(http, body).status_code == 201
        listed = http.get(RUNS).json()["runs"][0]
        stored = http.get(f"{RUNS}/with-skips").json()
        document = http.get("/openapi.json").json()
    assert (listed["case_count"], listed["passed_count"], listed["skipped_count"]) == (4, 3, 1)
    assert stored["counts"] == {"total": 4, "passed": 3, "failed": 0, "skipped": 1}
    assert stored["cases"][3]["skip_reason"] == "no tool result has text"
    runs = document["paths"][RUNS]
    body_schema = runs["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema["additionalProperties"] is False
    assert body_schema["properties"]["cases"]["items"]["properties"]["status"]["enum"] == list(
        ("passed", "failed", "skipped")
    )
    assert "$ref" in runs["get"]["responses"]["200"]["content"]["application/json"]["schema"]


def test_posting_the_same_report_again_is_accepted_once_and_a_different_one_is_a_conflict(asgi_collector):
    body = report("run-1")
    changed = report("run-1", failing=("order-status",))
    with asgi_collector.client() as http:
        assert _post(http, body).status_code == 201
        again = _post(http, body)
        assert (again.status_code, again.json()) == (200, {"run_id": "run-1"})
        conflict = _post(http, changed)
        assert conflict.status_code == 409
        assert "run-1 is already stored with a different report" in conflict.json()["detail"]
        assert http.get(f"{RUNS}/run-1").json() == body
        assert len(http.get(RUNS).json()["runs"]) == 1
    assert _stored(asgi_collector) == 1


def test_a_gzipped_report_is_accepted(asgi_collector):
    body = report("zipped")
    with asgi_collector.client() as http:
        answer = _post(http, gzip.compress(json.dumps(body).encode()), {"content-encoding": "gzip"})
        assert answer.status_code == 201, answer.text
        assert http.get(f"{RUNS}/zipped").json() == body


def _without(key: str) -> dict[str, Any]:
    body = report("bad")
    del body[key]
    return body


def _with(path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(report("bad"))
    target: Any = body
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = value
    return body


BAD_REPORTS = [
    (b"{not json", "the body is not JSON"),
    (b'{"run_id": "x", "pass_rate": NaN}', "NaN"),
    ([1, 2], "expected a JSON object"),
    (_without("run_id"), "run_id:"),
    (_with("run_id", ""), "run_id:"),
    (_with("run_id", "a/b"), "run_id:"),
    (_with("run_id", 7), "run_id:"),
    (_without("dataset"), "dataset:"),
    (_with("dataset", "  "), "dataset:"),
    (_with("started_at", "yesterday"), "started_at:"),
    (_without("started_at"), "started_at:"),
    (_with("pass_rate", 1.5), "pass_rate:"),
    (_with("pass_rate", -0.1), "pass_rate:"),
    (_with("pass_rate", "1"), "pass_rate:"),
    (_with("pass_rate", True), "pass_rate:"),
    (_with("scores", {"exact": "high"}), "scores.exact:"),
    (_with("scores", [1]), "scores:"),
    (_without("cases"), "cases:"),
    (_with("cases", {"id": "a"}), "cases:"),
    (_with("cases", [1]), "cases[0]: expected a JSON object"),
    (_with("cases.1.id", ""), "cases[1].id:"),
    (_with("cases.1.passed", "yes"), "cases[1].passed:"),
    (_with("cases.2.scores", {"exact": "no"}), "cases[2].scores.exact:"),
    (_with("cases.2.tags", {"topic": 3}), "cases[2].tags.topic:"),
    (_with("cases.0.trace_id", 5), "cases[0].trace_id:"),
    (_with("cases.3.id", "refund-lost-order"), "cases[3]: case 'refund-lost-order'"),
    (_with("gate", {"passed": "no"}), "gate.passed:"),
    (_with("regressions", "cancel-order"), "regressions:"),
    (_with("baseline", "run-0"), "baseline: expected a JSON object"),
    (_with("unknown_field", 1), "unknown_field: Extra inputs are not permitted"),
    (_with("cases.1.status", "maybe"), "cases[1].status:"),
    (_with("cases.3.status", "failed"), "cases[3]: passed is true but status is failed"),
    (_with("counts", {"total": 4, "passed": 3, "failed": 1, "skipped": 0}), "counts {'total': 4, 'passed': 3"),
]


@pytest.mark.parametrize(("body", "names"), BAD_REPORTS)
def test_a_bad_report_is_400_naming_the_field_and_stores_nothing(asgi_collector, body, names):
    with asgi_collector.client() as http:
        answer = _post(http, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"].startswith("invalid eval report: ")
    assert names in answer.json()["detail"]
    assert _stored(asgi_collector) == 0


def test_wrong_type_encoding_or_size_get_the_status_a_client_expects(asgi_collector_factory):
    collector = asgi_collector_factory(max_eval_report_bytes=4096)
    body = json.dumps(report("big")).encode()
    assert len(body) < 4096
    huge = report("huge")
    huge["cases"][0]["output"] = "x" * 5000
    http = collector.http
    assert http.post(RUNS, content=body, headers={"content-type": "text/plain"}).status_code == 415
    assert http.post(RUNS, content=body).status_code == 415
    assert _post(http, body, {"content-encoding": "br"}).status_code == 415
    assert _post(http, b"\x1f\x8bnot gzip", {"content-encoding": "gzip"}).status_code == 400
    too_big = _post(http, huge)
    assert too_big.status_code == 413 and "4096 bytes" in too_big.json()["detail"]
    bomb = gzip.compress(json.dumps(huge).encode())
    assert len(bomb) < 4096
    assert _post(http, bomb, {"content-encoding": "gzip"}).status_code == 413
    assert _stored(collector) == 0
    assert _post(http, body).status_code == 201


def test_reading_bad_parameters_and_unknown_runs(asgi_collector):
    with asgi_collector.client() as http:
        for params in ({"limit": 0}, {"limit": 1001}, {"limit": "many"}):
            answer = http.get(RUNS, params=params)
            assert answer.status_code == 400 and "limit" in answer.json()["detail"], params
        for run_id in ("nope", "a%20b", "x" * 300):
            missing = http.get(f"{RUNS}/{run_id}")
            assert missing.status_code == 404
            assert missing.json()["detail"].startswith("no eval run with id ")


def test_a_keyed_collector_wants_its_key_for_every_eval_endpoint(asgi_collector_factory):
    collector = asgi_collector_factory(api_key="s3cret")
    http = collector.http
    good = {"authorization": "Bearer s3cret"}
    for headers in ({}, {"authorization": "Bearer wrong"}):
        assert _post(http, report("run-1"), headers).status_code == 401
        assert http.get(RUNS, headers=headers).status_code == 401
        assert http.get(f"{RUNS}/run-1", headers=headers).status_code == 401
    assert _stored(collector) == 0
    assert _post(http, report("run-1"), good).status_code == 201
    assert [r["run_id"] for r in http.get(RUNS, headers=good).json()["runs"]] == ["run-1"]
    assert http.get(f"{RUNS}/run-1", headers=good).json()["run_id"] == "run-1"

"""The canary verdict end to end: seeded traffic through OTLP into a real collector, then
``GET /api/v1/compare`` and ``tracereel gate`` (its exit codes) over it, and the read scope.

One store for the module, holding several versions of the ``support`` agent:

- ``1.0``: the baseline, 600 tasks (success 90%, loops 5%, about 800 ms, 0.01 USD).
- ``1.0-same``: 600 tasks drawn like the baseline.
- ``2.0-bad``: 150 tasks, success 60%, loops 20%, about 1200 ms.
- ``1.1-good``: 400 tasks, success 99.5%, no loops, about 500 ms, 0.006 USD.
- ``2.1-tiny``: 8 tasks.
- ``0.9`` / ``0.9-canary``: the issue's case, 194 tasks with 9 loops (4.6%) against 24 with none.
- ``n1.0`` / ``n1.1``: 100 tasks each of a version that calls no tools.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from canary_traffic import Version, send
from click.testing import CliRunner, Result

from tests.collector.otel_client import OtelClient
from tests.support import collector_over, wait_until
from tracereel.cli import main
from tracereel.collector.query import (
    DEFAULT_METRICS,
    Scope,
    TaskFilter,
    compare_versions,
    load_prices,
    parse_metrics_window,
)
from tracereel.contracts.compare import Comparison


@dataclass
class SharedCollector:
    """The module's collector, with what OtelClient needs."""

    url: str
    app: Any

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def wait_for_spans(self, count: int) -> None:
        drainer = self.app.state.drainer
        wait_until(lambda: drainer.stored_spans >= count, f"the collector to store {count} spans")


@pytest.fixture(scope="module")
def canaries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedCollector]:
    """The module's collector, holding every version above."""
    with collector_over(tmp_path_factory.mktemp("compare-store")) as (url, app):
        shared = SharedCollector(url, app)
        otel = OtelClient(shared, batch=True)
        send(
            otel,
            Version("1.0", 600),
            Version("1.0-same", 600),
            Version("2.0-bad", 150, success=0.6, loops=0.2, latency_ms=1200),
            Version("1.1-good", 400, success=0.995, loops=0.0, latency_ms=500, cost_usd=0.006),
            Version("2.1-tiny", 8),
            Version("0.9", 194, exact=(180, 9)),
            Version("0.9-canary", 24, exact=(22, 0)),
            Version("n1.0", 100, tools=False),
            Version("n1.1", 100, tools=False),
        )
        otel.shutdown()
        yield shared


def gate(collector: SharedCollector, canary: str, *args: str, baseline: str = "1.0") -> Result:
    argv = ["gate", "--agent", "support", "--canary", canary, "--baseline", baseline, "--collector", collector.url]
    return CliRunner().invoke(main, [*argv, *args], catch_exceptions=False)


def gate_json(collector: SharedCollector, canary: str, *args: str, baseline: str = "1.0") -> tuple[int, Any]:
    result = gate(collector, canary, "--json", *args, baseline=baseline)
    return result.exit_code, json.loads(result.output)


def test_a_clear_regression_fails_with_exit_1(canaries):
    code, answer = gate_json(canaries, "2.0-bad")
    assert code == 1 and answer["verdict"] == "fail"
    metrics = answer["metrics"]
    # DESIGN.md's shape, for every metric judged by default.
    assert set(metrics) == set(DEFAULT_METRICS)
    for m in metrics.values():
        assert {"verdict", "baseline", "canary", "effect", "ci", "p_value"} <= set(m)
    for key in ("task_success_rate", "loop_rate", "p95_latency_ms"):
        assert metrics[key]["verdict"] == "worse" and metrics[key]["gate"] == "fail", key
        assert metrics[key]["p_value"] < answer["alpha"]
    success = metrics["task_success_rate"]
    assert success["test"] == "two_proportion_z"
    assert success["effect"] == pytest.approx(success["canary"] - success["baseline"])
    assert success["ci"][0] < success["effect"] < success["ci"][1] < 0
    assert (success["n_baseline"], success["n_canary"]) == (600, 150)
    # The correction: the corrected p-value is never below the raw one; each metric's interval is at
    # its own level, and excludes 0 exactly when the metric is better or worse.
    assert all(m["p_value"] >= m["p_value_raw"] for m in metrics.values())
    assert success["alpha"] == pytest.approx(0.02) and success["confidence"] == pytest.approx(0.96)
    assert metrics["loop_rate"]["alpha"] == pytest.approx(0.03 / 24)
    for key, m in metrics.items():
        excludes = m["ci"][0] > 0 or m["ci"][1] < 0
        assert (m["verdict"] in ("better", "worse")) == excludes == (m["p_value"] < answer["alpha"]), key
    assert answer["alpha"] == 0.03
    Comparison.model_validate(answer)  # the JSON is the declared shape
    assert answer["message"].startswith("fail: task_success_rate is significantly worse")
    assert (answer["baseline"], answer["canary"]) == (
        {"version": "1.0", "tasks": 600},
        {"version": "2.0-bad", "tasks": 150},
    )


def test_the_human_report_is_a_table_and_a_verdict_line(canaries):
    result = gate(canaries, "2.0-bad")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "canary 2.0-bad (150 tasks) against baseline 1.0 (600 tasks)" in result.output
    success_row = next(line for line in lines if "task_success_rate" in line)
    assert "worse" in success_row and "fail" in success_row and "pts" in success_row
    assert lines[-1].startswith("fail: ")


def test_a_clear_improvement_promotes_with_exit_0(canaries):
    code, answer = gate_json(canaries, "1.1-good")
    assert code == 0 and answer["verdict"] == "promote"
    metrics = answer["metrics"]
    assert metrics["task_success_rate"]["verdict"] == "better"
    assert metrics["loop_rate"]["verdict"] == "better"
    assert metrics["p95_latency_ms"]["verdict"] == "better"
    cost = metrics["cost_per_successful_task_usd"]
    assert cost["verdict"] == "better" and cost["test"] == "bootstrap"
    assert cost["ci"][0] < cost["effect"] < cost["ci"][1] < 0
    assert {m["gate"] for m in metrics.values()} == {"pass"}
    assert "better" in answer["message"]


def test_equal_versions_with_plenty_of_data_promote(canaries):
    code, answer = gate_json(canaries, "1.0-same")
    assert code == 0 and answer["verdict"] == "promote"
    assert {m["verdict"] for m in answer["metrics"].values()} == {"no_difference"}
    assert answer["message"] == "promote: no gated metric is significantly worse"


def test_too_little_data_is_inconclusive_with_exit_2_and_says_how_many_more(canaries):
    code, answer = gate_json(canaries, "2.1-tiny")
    assert code == 2 and answer["verdict"] == "inconclusive"
    assert {m["verdict"] for m in answer["metrics"].values()} == {"insufficient_data"}
    success = answer["metrics"]["task_success_rate"]
    assert success["effect"] is None and success["ci"] is None and success["p_value"] is None
    assert success["baseline"] == pytest.approx(0.9, abs=0.04) and success["n_canary"] == 8
    # At least the 12 tasks that bring the canary to min_samples (20).
    assert answer["needed_tasks"] >= 12
    assert "the canary has 8 tasks (needs 20)" in answer["message"]
    assert f"About {answer['needed_tasks']:,} more canary tasks would decide it" in answer["message"]


def test_the_issues_case_is_not_called_better(canaries):
    """24 canary tasks without a loop against 194 with 9 (4.6%): noise, not an improvement."""
    code, answer = gate_json(canaries, "0.9-canary", "--metrics", "loop_rate,task_success_rate", baseline="0.9")
    loops = answer["metrics"]["loop_rate"]
    assert (loops["baseline"], loops["canary"]) == (pytest.approx(9 / 194), 0.0)
    assert loops["verdict"] == "no_difference"
    # The score test at a difference of 0 is the pooled z test: z = -0.0464 / 0.0430 = -1.078, and the
    # one-sided p that the canary loops less is Phi(-1.078) = 0.141, far from any level.
    pooled = 9 / 218
    z = (0 - 9 / 194) / math.sqrt(pooled * (1 - pooled) * (1 / 24 + 1 / 194))
    assert loops["test"] == "two_proportion_z"
    assert loops["p_value_raw"] == pytest.approx(0.1406, abs=1e-4)
    assert z == pytest.approx(-1.078, abs=1e-3)
    assert loops["ci"][0] < 0 < loops["ci"][1]
    assert code == 0 and answer["verdict"] == "promote"


def test_an_agent_that_calls_no_tools_is_judged_without_its_tool_metrics(canaries):
    """Tool metrics of an agent that calls no tools are not_applicable: the gate still decides."""
    code, answer = gate_json(canaries, "n1.1", baseline="n1.0")
    metrics = answer["metrics"]
    for key in ("tool_error_rate", "tool_timeout_rate"):
        assert metrics[key]["verdict"] == metrics[key]["gate"] == "not_applicable", key
        assert metrics[key]["ci"] is None and metrics[key]["p_value"] is None and metrics[key]["alpha"] is None
    # Retries count LLM calls too: the agent makes some, so that metric is judged.
    assert metrics["retry_rate"]["verdict"] == "no_difference"
    assert code == 0 and answer["verdict"] == "promote"
    # The family is the seven metrics left: task success keeps 2% of the 3%, six share the other 1%.
    assert metrics["task_success_rate"]["alpha"] == pytest.approx(0.02)
    assert metrics["loop_rate"]["alpha"] == pytest.approx(0.01 / 6)
    table = gate(canaries, "n1.1", baseline="n1.0")
    row = next(line for line in table.output.splitlines() if "tool_error_rate" in line)
    assert row.count("not_applicable") == 2 and table.exit_code == 0


def test_tolerances_let_a_small_worsening_pass_and_hold_back_an_unproven_one(canaries):
    # 2.0-bad loses 30 points of success: within a tolerance of 50 points it is worse but passes.
    code, answer = gate_json(
        canaries, "2.0-bad", "--metrics", "task_success_rate", "--tolerance", "task_success_rate=0.5"
    )
    success = answer["metrics"]["task_success_rate"]
    assert code == 0 and success["verdict"] == "worse" and success["gate"] == "pass"
    assert success["tolerance"] == "0.5"
    # A relative tolerance: p95 latency 50% slower is beyond 10% of the baseline's.
    code, answer = gate_json(canaries, "2.0-bad", "--metrics", "p95_latency_ms", "--tolerance", "p95_latency_ms=10%")
    assert code == 1 and answer["metrics"]["p95_latency_ms"]["gate"] == "fail"
    assert "beyond the tolerance 10%" in answer["message"]
    # Equal versions, but a tolerance of 1 point of success that 600 tasks cannot yet promise.
    code, answer = gate_json(
        canaries, "1.0-same", "--metrics", "task_success_rate", "--tolerance", "task_success_rate=0.01"
    )
    success = answer["metrics"]["task_success_rate"]
    assert code == 2 and success["verdict"] == "no_difference" and success["gate"] == "inconclusive"
    assert "still allows a worsening beyond the tolerance 0.01" in answer["message"]
    # 600 baseline tasks alone are too few to promise 1 point (z * SE of the baseline > 0.01).
    assert "More data on both versions is needed" in answer["message"]


def test_kill_on_fail_flips_the_failed_canarys_switch_and_only_then(canaries):
    def switches() -> list[dict[str, Any]]:
        with canaries.client() as http:
            return http.get("/api/v1/switches").json()["switches"]

    assert gate(canaries, "1.1-good", "--kill-on-fail").exit_code == 0
    assert switches() == []
    failed = gate(canaries, "2.0-bad", "--kill-on-fail")
    assert failed.exit_code == 1
    assert "killed support 2.0-bad" in failed.output and "tracereel revive support --version 2.0-bad" in failed.output
    (switch,) = switches()
    assert (switch["agent"], switch["version"], switch["state"]) == ("support", "2.0-bad", "killed")
    assert switch["reason"].startswith("tracereel gate: fail: task_success_rate is significantly worse")
    with canaries.client() as http:
        revived = http.post("/api/v1/switches/revive", json={"agent": "support", "version": "2.0-bad"})
    assert revived.status_code == 200


def test_the_gate_that_cannot_run_exits_3(canaries, unused_port):
    down = CliRunner().invoke(
        main,
        ["gate", "--agent", "a", "--canary", "2", "--baseline", "1", "--collector", f"http://127.0.0.1:{unused_port}"],
    )
    assert down.exit_code == 3 and "Cannot reach the collector" in down.output
    # Usage errors are click's exit 2 elsewhere; here they must not read as "inconclusive".
    missing = CliRunner().invoke(main, ["gate", "--agent", "a", "--canary", "2"])
    assert missing.exit_code == 3 and "Missing option '--baseline'" in missing.output
    window = gate(canaries, "2.0-bad", "--window", "soon")
    assert window.exit_code == 3 and "'soon' is not a duration" in window.output
    unknown = gate(canaries, "2.0-bad", "--metrics", "tasks")
    assert unknown.exit_code == 3 and "tasks cannot be compared" in unknown.output
    tolerance = gate(canaries, "2.0-bad", "--tolerance", "loop_rate")
    assert tolerance.exit_code == 3 and "is not METRIC=X or METRIC=X%" in tolerance.output


def test_bad_requests_are_400_naming_the_problem(canaries):
    pair = {"agent": "support", "baseline": "1.0", "canary": "2.0"}
    with canaries.client() as http:
        for params, problem in (
            ({"agent": "support", "baseline": "1.0"}, "canary"),
            ({"agent": "support", "baseline": "1.0", "canary": "1.0"}, "the same version"),
            ({**pair, "metrics": "cost_usd"}, "cost_usd cannot"),
            (
                {**pair, "metrics": "loop_rate", "tolerance": "retry_rate=1"},
                "retry_rate is not among the metrics compared",
            ),
            ({**pair, "from": "yesterday"}, "from='yesterday'"),
            ({**pair, "min_samples": "1"}, "min_samples"),
        ):
            response = http.get("/api/v1/compare", params=params)
            assert response.status_code == 400, params
            assert problem in response.json()["detail"], response.json()


def test_the_read_scope_limits_what_is_compared(canaries):
    store, prices = canaries.app.state.store, load_prices(None)
    start, end = parse_metrics_window(None, None)
    flt = TaskFilter(start=start, end=end, agent="support")

    def compare(scope: Scope) -> Comparison:
        return compare_versions(store, prices, flt, "1.0", "2.0-bad", scope, metrics=("task_success_rate",))

    # A key for other agents (or other services) sees none of these tasks: nothing to judge.
    for scope in (Scope(agents=("other",)), Scope(services=("elsewhere",))):
        hidden = compare(scope)
        assert (hidden.baseline.tasks, hidden.canary.tasks) == (0, 0)
        assert hidden.metrics["task_success_rate"].verdict == "insufficient_data"
        assert hidden.verdict == "inconclusive"
    # A glob that covers the agent sees exactly what an unrestricted reader sees.
    assert compare(Scope(agents=("supp*",), services=("svc",))) == compare(Scope())
    # The traffic was sent with auth off: it belongs to no team, so a team's key sees none of it.
    red = compare(Scope(team="red"))
    assert (red.baseline.tasks, red.canary.tasks) == (0, 0)
    assert compare(Scope(team="")) == compare(Scope())


def test_the_openapi_document_declares_the_verdicts_shape(canaries):
    with canaries.client() as http:
        document = http.get("/openapi.json").json()
    ok = document["paths"]["/api/v1/compare"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["$ref"].endswith("/Comparison")
    metric = document["components"]["schemas"]["MetricComparison"]
    assert "not_applicable" in metric["properties"]["verdict"]["enum"]
    shape = {"verdict", "baseline", "canary", "effect", "ci", "p_value", "alpha", "confidence"}
    assert shape <= set(metric["required"])

"""``score.NAME`` in the gate and the compare API (DESIGN.md "Production loop", "Gates and monitors").

Tasks of an agent's versions run through the real SDK to a collector under uvicorn; their scores
come from the SDK and the API. The gate judges a score's per-task mean (higher is better) with the
bootstrap, and the test computes the expected effect from the values it sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from tests.collector.scored_versions import BAD, GOOD, TASKS, per_task, run_version
from tests.conftest import RunningCollector, start_collector
from tracereel.cli import main


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCollector]:
    """Versions 1 (good), 1-same (the same values, scored through the API) and 2 (worse) of one agent."""
    from tracereel.collector import Store

    store = Store.open(f"chdb://{tmp_path_factory.mktemp('score-gate') / 'store'}")
    running, _ = start_collector(store)
    try:
        run_version(running, "1", per_task(GOOD), via_api=False)
        run_version(running, "1-same", per_task(GOOD), via_api=True)
        run_version(running, "2", per_task(BAD), via_api=False)
        yield running
    finally:
        running.stop()
        store.close()


def _gate(running: RunningCollector, canary: str, *args: str) -> tuple[int, Any]:
    argv = ["gate", "--agent", "scored-canary", "--canary", canary, "--baseline", "1", "--collector", running.url]
    result = CliRunner().invoke(main, [*argv, "--json", *args], catch_exceptions=False)
    return result.exit_code, json.loads(result.output)


def test_a_worse_score_fails_the_gate_and_its_numbers_agree(versions: RunningCollector) -> None:
    code, answer = _gate(versions, "2", "--metric", "score.helpfulness", "--metric", "score.absent")
    assert code == 1 and answer["verdict"] == "fail"
    assert set(answer["metrics"]) == {"score.helpfulness", "score.absent"}
    m = answer["metrics"]["score.helpfulness"]
    expected = sum(per_task(BAD)) / TASKS - sum(per_task(GOOD)) / TASKS
    assert (m["verdict"], m["gate"], m["test"], m["higher_is_better"]) == ("worse", "fail", "bootstrap", True)
    assert (m["n_baseline"], m["n_canary"], m["unit"]) == (TASKS, TASKS, "scored tasks")
    assert m["baseline"] == pytest.approx(sum(per_task(GOOD)) / TASKS)
    assert m["effect"] == pytest.approx(expected)
    # Worse: the corrected p-value is below alpha and the interval lies below 0, around the effect.
    assert m["p_value"] < answer["alpha"]
    low, high = m["ci"]
    assert high < 0 and (low is None or low <= expected <= high)
    # Neither version has an "absent" score: not applicable, and it does not make the verdict inconclusive.
    absent = answer["metrics"]["score.absent"]
    assert (absent["verdict"], absent["gate"], absent["n_baseline"], absent["n_canary"]) == (
        "not_applicable",
        "not_applicable",
        0,
        0,
    )


def test_an_equal_score_from_another_source_passes_and_its_interval_holds_zero(versions: RunningCollector) -> None:
    code, answer = _gate(versions, "1-same", "--metrics", "score.helpfulness")
    assert code == 0 and answer["verdict"] == "promote"
    m = answer["metrics"]["score.helpfulness"]
    assert m["verdict"] == "no_difference" and m["effect"] == pytest.approx(0.0)
    low, high = m["ci"]
    assert (low is None or low <= 0) and (high is None or high >= 0)
    assert m["p_value"] >= answer["alpha"]


def test_a_malformed_score_metric_is_refused_in_one_line(versions: RunningCollector) -> None:
    argv = ["gate", "--agent", "scored-canary", "--canary", "2", "--baseline", "1", "--collector", versions.url]
    result = CliRunner().invoke(main, [*argv, "--metric", "score.9lives"], catch_exceptions=False)
    assert result.exit_code == 3, result.output
    assert "score.9lives" in result.output and "score.NAME" in result.output
    assert len(result.output.strip().splitlines()) == 1

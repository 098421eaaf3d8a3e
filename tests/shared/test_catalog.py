"""The metrics catalog and the metrics API agree: every metric computed has a label, unit and direction."""

from __future__ import annotations

from typing import Any

from tracereel.catalog import CATALOG, METRIC_KEYS
from tracereel.client import CollectorClient
from tracereel.contracts.metrics import AgentRow, Metrics, Point, ServiceRow


def test_the_api_computes_exactly_the_catalog(collector: Any) -> None:
    answer = CollectorClient(collector.url).metrics()
    # Beside the catalog's keys, the scores (a map by score name: its metrics are score.NAME).
    assert set(answer.model_dump()) == {*METRIC_KEYS, "scores"}


def test_the_metrics_contract_declares_exactly_the_catalog() -> None:
    # The wire types and the catalog's meanings are declared apart; they name the same keys.
    assert tuple(Metrics.model_fields) == (*METRIC_KEYS, "scores")
    assert tuple(Point.model_fields) == ("start", *METRIC_KEYS, "scores")
    assert set(AgentRow.model_fields) == {"agent", "version", *METRIC_KEYS, "scores"}
    assert set(ServiceRow.model_fields) == {"service", *METRIC_KEYS, "scores"}


def test_rates_and_latencies_have_a_direction_and_counts_do_not() -> None:
    for metric in CATALOG.values():
        if metric.unit in ("rate", "ms"):
            assert metric.higher_is_better is not None, metric.key
        if metric.unit == "count":
            assert metric.higher_is_better is None, metric.key

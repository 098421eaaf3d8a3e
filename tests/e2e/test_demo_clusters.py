"""The demo's failures form clusters on a fresh store (issue 18 part 7): the Failures page has data."""

from __future__ import annotations

from typing import Any

from tracereel.client import CollectorClient
from tracereel.demo.runner import run_demo


def test_the_demos_failures_form_clusters(collector: Any) -> None:
    result = run_demo(collector.url, tasks=120, seed=42, spread_hours=24)
    collector.wait_for_spans(result.spans)
    api = CollectorClient(collector.url)
    clusters = api.clusters(window="24h", examples=100)
    kinds = {c.signature.split(":")[0] for c in clusters}
    # Tool errors and failed outcomes at least; every failed task is in exactly one cluster.
    assert {"error", "failed"} <= kinds, [c.signature for c in clusters]
    assert sum(c.size for c in clusters) >= result.failed > 0
    assert len({t for c in clusters for t in c.examples}) == sum(min(c.size, 100) for c in clusters)
    assert {t for c in clusters for t in c.examples} <= set(result.trace_ids)
    assert all(c.terms for c in clusters if c.size > 1)
    # Asked again, the same clusters under the same ids.
    assert [(c.id, c.size) for c in api.clusters(window="24h")] == [(c.id, c.size) for c in clusters]

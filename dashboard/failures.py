"""The Failures page's rows, without Streamlit (easy to test): clusters ranked by size and trend."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from tracereel.contracts.clusters import Cluster

__all__ = ["add_command", "cluster_rows", "ranked", "trace_link", "trend"]


def trend(cluster: Cluster) -> str:
    """This window against the one before: ``new``, ``+N``, ``-N`` or ``=``."""
    if cluster.previous_size == 0:
        return "new"
    change = cluster.size - cluster.previous_size
    return f"{change:+d}" if change else "="


def ranked(clusters: list[Cluster]) -> list[Cluster]:
    """Largest first; among equals, the fastest growing (this window minus the one before) first."""
    return sorted(clusters, key=lambda c: (-c.size, -(c.size - c.previous_size), c.id))


def trace_link(trace_id: str) -> str:
    """The Trace page's relative URL for ``trace_id``."""
    return f"trace?{urlencode({'trace_id': trace_id})}"


def add_command(cluster_id: str, file: str = "golden.yaml", max_cases: int = 10) -> str:
    """The command that turns the cluster's examples into golden cases."""
    return f"tracereel dataset add-cluster {file} {cluster_id} --max {max_cases}"


def cluster_rows(clusters: list[Cluster]) -> list[dict[str, Any]]:
    """One row per cluster, ranked: id, size, trend, signature, terms, agents, last seen, a link to its newest
    example."""
    return [
        {
            "cluster": c.id,
            "size": c.size,
            "trend": trend(c),
            "signature": c.signature,
            "terms": ", ".join(c.terms),
            "agents": ", ".join(c.agents),
            "last seen": c.last_seen,
            "example": trace_link(c.examples[0]) if c.examples else None,
        }
        for c in ranked(clusters)
    ]

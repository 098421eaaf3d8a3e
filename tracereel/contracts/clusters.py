"""Failure clusters on the wire (DESIGN.md "Production loop", "Failure clusters").

``GET /api/v1/clusters?window=24h&agent=A`` answers :class:`Clusters`: the failing tasks of the
window, grouped by a structural signature and then by the text of their outputs and comments.
A cluster's ``id`` is stable: a failure like one seen before joins the cluster it joined then.
"""

from __future__ import annotations

from typing import Final

from pydantic import Field

from tracereel.contracts import Response

__all__ = ["EXAMPLES", "MAX_EXAMPLES", "Cluster", "Clusters"]

# Trace ids listed per cluster: by default, and at most (``?examples=N``, ``dataset add-cluster --max N``).
EXAMPLES: Final = 5
MAX_EXAMPLES: Final = 100


class Cluster(Response):
    """One group of failing tasks: same signature, similar text."""

    id: str = Field(description="Stable id: the same kind of failure joins the same cluster across calls")
    signature: str = Field(
        description="What failed, structurally: `error:KIND:NAME:ERROR_TYPE`, `guardrail:NAME`, "
        "`score:NAME`, `feedback:NAME` or `failed:AGENT`"
    )
    size: int = Field(description="Failing tasks of the window in this cluster")
    previous_size: int = Field(0, description="Failing tasks in this cluster over the window before (the trend)")
    first_seen: str = Field(description="When the cluster was first made (ISO-8601, UTC)")
    last_seen: str = Field(description="Start of its newest failing task in the window (ISO-8601, UTC)")
    agents: list[str] = Field(description="The agents whose tasks are in it, sorted")
    examples: list[str] = Field(description="Trace ids of some of its tasks, newest first")
    terms: list[str] = Field(description="The words that most mark its tasks' outputs and comments")


class Clusters(Response):
    """``GET /api/v1/clusters``: the window's clusters, largest first."""

    clusters: list[Cluster]

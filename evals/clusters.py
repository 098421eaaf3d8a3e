"""Golden cases from a failure cluster: ``tracereel dataset add-cluster FILE CLUSTER_ID [--max N]``.

A cluster (DESIGN.md "Production loop") is a kind of production failure; its example traces become
cases like ``dataset add`` makes them (input and recorded tools from the trace, the trace saved
beside the file), tagged ``cluster=ID``. A failure's recorded output is not the right answer, so
unless one is given for all of them the cases are written with ``expected: null`` for a person to
fill in while reviewing the set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tracereel.evals.dataset import DatasetError, add_case, load_dataset
from tracereel.evals.model import Case

__all__ = ["add_cluster"]


def add_cluster(
    path: str | Path,
    cluster_id: str,
    *,
    max_cases: int = 10,
    window: str = "7d",
    expected: Any = None,
    client: Any = None,
    collector: str | None = None,
) -> list[Case]:
    """Append a case for each of up to ``max_cases`` example traces of cluster ``cluster_id`` (newest first)
    seen in the last ``window``; traces already in the file are skipped. Raises :class:`DatasetError`
    (an unknown cluster, a trace that cannot become a case) and the client's errors."""
    from tracereel.client import CollectorClient

    if max_cases < 1:
        raise DatasetError(path, f"--max {max_cases}: expected at least 1 case")
    client = client or CollectorClient(collector)
    clusters = client.clusters(window=window, examples=max_cases)
    cluster = next((c for c in clusters if c.id == cluster_id), None)
    if cluster is None:
        raise DatasetError(path, f"no failure cluster {cluster_id} in the last {window} (see `tracereel clusters`)")
    file = Path(path)
    have = {c.trace for c in load_dataset(file).cases} if file.exists() else set[str | None]()
    added: list[Case] = []
    for trace_id in cluster.examples[:max_cases]:
        if f"traces/{trace_id}.json" in have:
            continue
        tags = {"cluster": cluster.id}
        added.append(add_case(file, trace_id, expected=expected, tags=tags, client=client, failure=True))
    return added

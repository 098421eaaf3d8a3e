"""Failure clusters: the window's failing tasks grouped by signature, then by text, under stable ids.

The failing tasks and their signatures come from failures.py, the grouping by text from
similarity.py. The clusters made so far are kept in the store (migration 0019: id, team,
signature, centroid terms and weights, first seen): a failure joins the nearest cluster of its
team and signature if it is like it (similarity.py's threshold), so a cluster's id stays the same
as new failures of its kind arrive; the failures like none make new clusters, which are stored.
A new cluster's id is a hash of its team, signature and centroid, so two collectors (or two
calls at once) that make the same cluster make it under the same id.

The answer counts each cluster's tasks in the window and in the window before it (the trend),
and shows only what the reader's scope lets it see: its tasks' agents, trace ids and words.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from tracereel.collector.query.failures import Failure, failing_tasks
from tracereel.collector.query.metrics import TaskFilter
from tracereel.collector.query.prices import PriceTable
from tracereel.collector.query.scope import EVERYTHING, Scope, scope_sql
from tracereel.collector.query.similarity import Centroid, group_texts
from tracereel.collector.store import FAILURE_CLUSTERS_TABLE, Store

__all__ = ["ClusterJSON", "failure_clusters"]

_COLUMNS: Final = ("ClusterId", "Team", "Signature", "Terms", "Weights", "FirstSeen", "UpdatedAt")
# One assignment at a time in this collector: two calls would otherwise both make the same new cluster
# (same id, so harmless, but twice the work).
_ASSIGNING: Final = threading.Lock()

ClusterJSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Stored:
    id: str
    first_seen: datetime
    centroid: Centroid


def _utc(time: datetime) -> datetime:
    return time.replace(tzinfo=timezone.utc) if time.tzinfo is None else time.astimezone(timezone.utc)


def _iso(time: datetime) -> str:
    return _utc(time).isoformat().replace("+00:00", "Z")


def _stored(store: Store, scope: Scope) -> dict[tuple[str, str], list[_Stored]]:
    team, params = scope_sql(Scope(team=scope.team), agent_column=None, service_column=None)
    rows = store.query(
        f"SELECT ClusterId, Team, Signature, Terms, Weights, FirstSeen FROM {FAILURE_CLUSTERS_TABLE} FINAL "
        f"WHERE {team} ORDER BY FirstSeen, ClusterId",
        params,
    )
    out: dict[tuple[str, str], list[_Stored]] = defaultdict(list)
    for cluster_id, team_name, sig, terms, weights, first_seen in rows:
        centroid = Centroid(tuple(str(t) for t in terms), tuple(float(w) for w in weights))
        out[(str(team_name), str(sig))].append(_Stored(str(cluster_id), _utc(first_seen), centroid))
    return out


def _new_id(team: str, sig: str, centroid: Centroid) -> str:
    key = "\0".join((team, sig, *centroid.terms))
    return "fc-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _assign(store: Store, failures: list[Failure], scope: Scope) -> dict[str, tuple[str, datetime, list[str]]]:
    """Each failure's cluster, by trace id: (cluster id, first seen, the words that mark its members)."""
    groups: dict[tuple[str, str], list[Failure]] = defaultdict(list)
    for failure in failures:
        groups[(failure.team, failure.signature)].append(failure)
    out: dict[str, tuple[str, datetime, list[str]]] = {}
    now = datetime.now(timezone.utc)
    with _ASSIGNING:
        stored = _stored(store, scope)
        rows: list[list[Any]] = []
        for (team, sig), members in groups.items():
            known = stored.get((team, sig), [])
            grouping = group_texts([m.text for m in members], [k.centroid for k in known])
            clusters = [(k.id, k.first_seen) for k in known]
            for label, centroid in enumerate(grouping.new, start=len(known)):
                first = min(_utc(m.start) for m, at in zip(members, grouping.labels, strict=True) if at == label)
                cluster_id = _new_id(team, sig, centroid)
                clusters.append((cluster_id, first))
                rows.append([cluster_id, team, sig, list(centroid.terms), list(centroid.weights), first, now])
            for member, label in zip(members, grouping.labels, strict=True):
                cluster_id, first = clusters[label]
                out[member.trace_id] = (cluster_id, first, grouping.terms[label])
        if rows:
            store.insert_rows(FAILURE_CLUSTERS_TABLE, rows, _COLUMNS)
    return out


def failure_clusters(
    store: Store, prices: PriceTable, flt: TaskFilter, scope: Scope = EVERYTHING, *, examples: int = 5
) -> list[ClusterJSON]:
    """The clusters of the failing tasks in ``flt``'s window that ``scope`` may see, largest first.

    Each: ``id``, ``signature``, ``size``, ``previous_size`` (the same length of time just before),
    ``first_seen``, ``last_seen``, ``agents``, ``examples`` (up to ``examples`` trace ids, newest first),
    ``terms``.
    """
    span = flt.end - flt.start
    both = TaskFilter(flt.start - span, flt.end, service=flt.service, agent=flt.agent, version=flt.version)
    failures = failing_tasks(store, prices, both, scope)
    assigned = _assign(store, failures, scope)
    start = _utc(flt.start)
    by_cluster: dict[str, list[Failure]] = defaultdict(list)
    previous: dict[str, int] = defaultdict(int)
    for failure in failures:
        cluster_id = assigned[failure.trace_id][0]
        if _utc(failure.start) >= start:
            by_cluster[cluster_id].append(failure)
        else:
            previous[cluster_id] += 1
    answer: list[ClusterJSON] = []
    for cluster_id, members in by_cluster.items():
        members.sort(key=lambda m: (_utc(m.start), m.trace_id), reverse=True)
        _, first_seen, terms = assigned[members[0].trace_id]
        answer.append(
            {
                "id": cluster_id,
                "signature": members[0].signature,
                "size": len(members),
                "previous_size": previous[cluster_id],
                "first_seen": _iso(first_seen),
                "last_seen": _iso(members[0].start),
                "agents": sorted({m.agent for m in members}),
                "examples": [m.trace_id for m in members[:examples]],
                "terms": terms,
            }
        )
    answer.sort(key=lambda c: (-c["size"], c["id"]))
    return answer

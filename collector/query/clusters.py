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
import heapq
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Final

from tracereel.collector.query.failures import FailureGroup, failure_groups
from tracereel.collector.query.metrics import TaskFilter
from tracereel.collector.query.scope import EVERYTHING, Scope, scope_sql
from tracereel.collector.store import FAILURE_CLUSTERS_TABLE, Store

if TYPE_CHECKING:
    # scikit-learn and scipy load with it (seconds): imported where clusters are made, not when the API loads.
    from tracereel.collector.query.similarity import Centroid

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
    from tracereel.collector.query.similarity import Centroid

    out: dict[tuple[str, str], list[_Stored]] = defaultdict(list)
    for cluster_id, team_name, sig, terms, weights, first_seen in rows:
        centroid = Centroid(tuple(str(t) for t in terms), tuple(float(w) for w in weights))
        out[(str(team_name), str(sig))].append(_Stored(str(cluster_id), _utc(first_seen), centroid))
    return out


def _new_id(team: str, sig: str, centroid: Centroid) -> str:
    key = "\0".join((team, sig, *centroid.terms))
    return "fc-" + hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(slots=True)
class _Cluster:
    id: str
    signature: str
    first_seen: datetime
    terms: list[str]
    size: int = 0
    previous: int = 0
    last: datetime | None = None
    agents: set[str] = field(default_factory=set[str])
    examples: list[tuple[datetime, str]] = field(default_factory=list[tuple[datetime, str]])


def _assign(store: Store, groups: list[FailureGroup], scope: Scope) -> list[tuple[FailureGroup, _Cluster]]:
    """Each group of failures with its cluster: a stored one it is like, else one made and stored now."""
    by_signature: dict[tuple[str, str], list[FailureGroup]] = defaultdict(list)
    for group in groups:
        by_signature[(group.team, group.signature)].append(group)
    out: list[tuple[FailureGroup, _Cluster]] = []
    now = datetime.now(timezone.utc)
    with _ASSIGNING:
        stored = _stored(store, scope)
        rows: list[list[Any]] = []
        from tracereel.collector.query.similarity import group_texts

        for (team, sig), members in by_signature.items():
            known = stored.get((team, sig), [])
            grouping = group_texts([m.text for m in members], [m.count for m in members], [k.centroid for k in known])
            earliest: dict[int, datetime] = {}
            for member, label in zip(members, grouping.labels, strict=True):
                if label >= len(known) and (label not in earliest or member.first < earliest[label]):
                    earliest[label] = member.first
            clusters = [_Cluster(k.id, sig, k.first_seen, grouping.terms.get(i, [])) for i, k in enumerate(known)]
            for label, centroid in enumerate(grouping.new, start=len(known)):
                cluster = _Cluster(_new_id(team, sig, centroid), sig, earliest[label], grouping.terms[label])
                clusters.append(cluster)
                rows.append(
                    [cluster.id, team, sig, list(centroid.terms), list(centroid.weights), cluster.first_seen, now]
                )
            out.extend((member, clusters[label]) for member, label in zip(members, grouping.labels, strict=True))
        if rows:
            store.insert_rows(FAILURE_CLUSTERS_TABLE, rows, _COLUMNS)
    return out


def failure_clusters(
    store: Store, flt: TaskFilter, scope: Scope = EVERYTHING, *, examples: int = 5
) -> list[ClusterJSON]:
    """The clusters of the failing tasks in ``flt``'s window that ``scope`` may see, largest first.

    Each: ``id``, ``signature``, ``size``, ``previous_size`` (the same length of time just before),
    ``first_seen``, ``last_seen``, ``agents``, ``examples`` (up to ``examples`` trace ids, newest first),
    ``terms``.
    """
    span = flt.end - flt.start
    both = TaskFilter(flt.start - span, flt.end, service=flt.service, agent=flt.agent, version=flt.version)
    groups = failure_groups(store, both, scope, since=flt.start, examples=examples)
    found: dict[str, _Cluster] = {}
    for group, cluster in _assign(store, groups, scope):
        cluster = found.setdefault(cluster.id, cluster)
        if not group.current:
            cluster.previous += group.count
            continue
        cluster.size += group.count
        cluster.last = group.last if cluster.last is None else max(cluster.last, group.last)
        cluster.agents.add(group.agent)
        cluster.examples = heapq.nlargest(examples, [*cluster.examples, *group.examples])
    answer: list[ClusterJSON] = [
        {
            "id": c.id,
            "signature": c.signature,
            "size": c.size,
            "previous_size": c.previous,
            "first_seen": _iso(c.first_seen),
            "last_seen": _iso(c.last),
            "agents": sorted(c.agents),
            "examples": [trace_id for _, trace_id in c.examples],
            "terms": c.terms,
        }
        for c in found.values()
        if c.last is not None
    ]
    answer.sort(key=lambda c: (-c["size"], c["id"]))
    return answer

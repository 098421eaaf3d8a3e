"""The canary verdict: two versions of an agent over one window, metric by metric, with statistics.

:func:`compare_versions` reads each version's sums and exact percentiles from the metrics' states
(sealed hours and the live tail, narrowed by the reader's :class:`Scope`), and per-task facts only
for the bootstraps: of every task up to ``stats.BOOTSTRAP_CAP`` tasks, else of the CAP tasks with the
smallest ``cityHash64(TraceId)`` (a fixed subset, read without merging the others). :func:`judge`
compares them with :mod:`.stats`:

- ``score.NAME`` (a score name, DESIGN.md "Production loop"): the mean of each task's latest NAME
  score over the tasks that have one, higher is better, tested with the same bootstrap as cost per
  success (each scored task's value over one unit), its units the scored tasks.
- Each metric: ``not_applicable`` when neither version has any of its units (tool metrics of an
  agent that calls no tools), with at least ``min_samples`` tasks each; ``insufficient_data``
  when either version has some but fewer than ``min_samples`` units of the metric's denominator
  (tasks, tool calls, calls, successful tasks, ...) or tasks; else ``better`` or ``worse`` when
  its corrected one-sided p-value is below ALPHA, else ``no_difference``.
- The correction's family is the metrics that are not ``not_applicable``: a weighted Bonferroni
  correction (:func:`levels`) that gives ``task_success_rate``, the outcome a canary is deployed
  for, two thirds of ALPHA and shares the other third among the rest. Each metric's interval is at its
  own level, so it excludes 0 exactly when its verdict is ``better`` or ``worse``.
- Each metric's gate: ``fail`` when it is worse by more than its tolerance (0 unless given);
  ``inconclusive`` when its data are insufficient, or when a tolerance was given and the
  interval still reaches a worsening beyond it; ``not_applicable`` for a metric that is; else ``pass``.
- The verdict: ``fail`` if any gate fails, else ``inconclusive`` if any is, else ``promote``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from tracereel.catalog import SCORE_METRIC_PREFIX, Metric, metric_info, score_metric
from tracereel.collector.query import stats
from tracereel.collector.query.metrics import TaskFilter, task_rows_query, version_totals
from tracereel.collector.query.params import ParamError
from tracereel.collector.query.prices import PriceTable
from tracereel.collector.query.scope import Scope
from tracereel.collector.store import Store
from tracereel.contracts.compare import Comparison, GateVerdict, MetricComparison, VersionTasks, Window

__all__ = [
    "COMPARABLE",
    "DEFAULT_METRICS",
    "MIN_SAMPLES",
    "PRIMARY",
    "PRIMARY_SHARE",
    "Tolerance",
    "VersionSample",
    "compare_versions",
    "judge",
    "levels",
    "parse_compare_metrics",
    "parse_tolerances",
    "task_samples",
    "version_samples",
]

MIN_SAMPLES: Final = 20
# Below min_samples a test still runs from this many units on, but only to estimate how many more are needed.
_HINT_SAMPLES: Final = 2

# Every metric the gate can judge, and what one sample of it is: a rate's (events, units)
# per task, a latency percentile, or a ratio's (numerator, denominator) per task.
_RATES: Final[dict[str, tuple[str, str, str]]] = {
    # metric: (events column, units column, what a unit is)
    "task_success_rate": ("success", "one", "tasks"),
    "groundedness_rate": ("grounded", "scored", "scored tasks"),
    "tool_success_rate": ("tool_ok", "tool_calls", "tool calls"),
    "tool_timeout_rate": ("tool_timeouts", "tool_calls", "tool calls"),
    "tool_error_rate": ("tool_errors", "tool_calls", "tool calls"),
    "retry_rate": ("retries", "steps", "calls"),
    "loop_rate": ("looped", "one", "tasks"),
    "cost_coverage": ("priced", "llm_calls", "LLM calls"),
    "safety_violation_rate": ("violated", "one", "tasks"),
    "human_escalation_rate": ("escalated", "one", "tasks"),
}
_LATENCIES: Final = {"p50_latency_ms": 50.0, "p95_latency_ms": 95.0}
_RATIOS: Final = {"cost_per_successful_task_usd": ("cost", "success", "successful tasks")}
COMPARABLE: Final = (*_RATES, *_LATENCIES, *_RATIOS)
_SCORE_UNIT: Final = "scored tasks"
# What the gate judges unless told otherwise: the outcome, reliability, latency and cost metrics.
DEFAULT_METRICS: Final = (
    "task_success_rate",
    "tool_error_rate",
    "tool_timeout_rate",
    "retry_rate",
    "loop_rate",
    "safety_violation_rate",
    "human_escalation_rate",
    "p95_latency_ms",
    "cost_per_successful_task_usd",
)

# The outcome a canary is deployed for: it gets PRIMARY_SHARE of ALPHA, the other metrics share the
# rest. With nine metrics at equal shares, a 10-point drop in success over 300 canary tasks is found
# about 82% of the time, and the demo's canary (66% -> 48% over 52 tasks, one-sided p 0.012) is not
# failed; with two thirds of ALPHA (2%), about 94% and it is (bench/gate_calibration.py, docs/gates.md).
PRIMARY: Final = "task_success_rate"
PRIMARY_SHARE: Final = 2 / 3

_COLUMNS: Final = (
    "success",
    "grounded",
    "scored",
    "tool_ok",
    "tool_calls",
    "tool_timeouts",
    "tool_errors",
    "retries",
    "steps",
    "looped",
    "priced",
    "llm_calls",
    "violated",
    "escalated",
    "duration_ms",
    "cost",
)
# One row per version, each column an array with one entry per task: two rows cross from the
# store to Python however many tasks there are.
_SAMPLES_SQL: Final = """SELECT root_version AS version,
       groupArray(toUInt8(success)), groupArray(toUInt8(grounded)), groupArray(toUInt8(scored)),
       groupArray(tool_ok), groupArray(tool_calls), groupArray(tool_timeouts),
       groupArray(tool_calls - tool_ok - tool_timeouts), groupArray(retries), groupArray(steps),
       groupArray(toUInt8(looped)), groupArray(priced), groupArray(llm_calls), groupArray(toUInt8(violated)),
       groupArray(toUInt8(escalated)), groupArray(root_duration / 1e6), groupArray(toFloat64(cost))
FROM task_rows
WHERE root_version IN ({baseline:String}, {canary:String})
GROUP BY version"""

_SCORE_SAMPLES_SQL: Final = """SELECT t.root_version AS version, s.name, groupArray(s.value)
FROM task_scores AS s INNER JOIN task_rows AS t ON s.TraceId = t.TraceId
WHERE t.root_version IN ({baseline:String}, {canary:String}) AND s.name IN {score_names:Array(String)}
GROUP BY version, s.name"""


# The per-task facts the bootstraps need, of at most CAP tasks per version: those with the smallest hash of
# their trace id (a subset that is the same on every read of the same data). The hash is returned to order them.
_SUBSET_SQL: Final = """SELECT root_version, groupArray(h), groupArray(root_duration / 1e6),
       groupArray(toFloat64(cost)), groupArray(toUInt8(success))
FROM (
    SELECT root_version, cityHash64(TraceId) AS h, root_duration, cost, success
    FROM task_facts
    WHERE root_version IN ({baseline:String}, {canary:String})
    ORDER BY h, TraceId
    LIMIT {cap:UInt64} BY root_version
)
GROUP BY root_version"""
# Which rollup rows the subset needs (before a trace's rows are merged): a root row naming an agent gives the
# task's version, so its hash is held to that version's bound; any other row may belong to either version.
_SUBSET_ROWS: Final = """multiIf(HasRoot = 0 OR RootAgent = '', cityHash64(TraceId) <= {bound_any:UInt64},
    RootVersion = {baseline:String}, cityHash64(TraceId) <= {bound_baseline:UInt64},
    RootVersion = {canary:String}, cityHash64(TraceId) <= {bound_canary:UInt64}, 0)"""
_HASH_MAX: Final = 2**64 - 1
# The hash bound keeps about this share more tasks than the CAP smallest (and 500), so that a read
# almost never falls short of CAP (then it is read again without a bound).
_SUBSET_SLACK: Final = 1.25

# VersionSample's totals from the metrics' version_totals.
_TOTALS: Final = {
    "success": "successes",
    "grounded": "grounded_tasks",
    "scored": "scored_tasks",
    "tool_ok": "tool_ok",
    "tool_calls": "tool_calls",
    "tool_timeouts": "tool_timeouts",
    "tool_errors": "tool_errors",
    "retries": "retries",
    "steps": "calls",
    "looped": "looped_tasks",
    "priced": "priced_calls",
    "llm_calls": "llm_calls",
    "violated": "violated_tasks",
    "escalated": "escalated_tasks",
    "cost": "cost_usd",
}


@dataclass(frozen=True)
class VersionSample:
    """One version's tasks as :func:`judge` reads them.

    ``tasks``: how many; ``totals``: each per-task column (``_COLUMNS`` but duration) summed over every
    task; ``percentiles``: the exact percentiles of the durations (ms) over every task, by percentile (50,
    95); ``arrays``: per-task ``duration_ms``, ``cost`` and ``success`` of every task or of a fixed subset
    (the bootstraps'), and ``score.NAME``: the latest NAME score of each task that has one.
    """

    tasks: int
    totals: dict[str, float]
    percentiles: dict[float, float]
    arrays: dict[str, NDArray[Any]]

    @classmethod
    def of(cls, arrays: dict[str, NDArray[Any]]) -> VersionSample:
        """The sample of per-task arrays of every task (as :func:`task_samples` gives them)."""
        durations = arrays["duration_ms"]
        return cls(
            tasks=len(arrays["success"]),
            totals={name: float(values.sum()) for name, values in arrays.items() if name in _TOTALS},
            percentiles={q: float(np.percentile(durations, q)) for q in _LATENCIES.values()} if len(durations) else {},
            arrays=arrays,
        )


def _info(key: str) -> Metric:
    info = metric_info(key)
    assert info is not None, key  # parse_compare_metrics admitted it
    return info


@dataclass(frozen=True)
class Tolerance:
    """How much worse a metric may be: ``value`` in its unit, or a percentage of the baseline's value."""

    value: float
    relative: bool = False

    def absolute(self, baseline: float | None) -> float:
        """The tolerance in the metric's unit, given the baseline's value."""
        return self.value / 100 * abs(baseline or 0.0) if self.relative else self.value

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.relative else f"{self.value:g}"


_TOLERANCE: Final = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*=\s*([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*(%?)\s*$")


def parse_compare_metrics(value: str | None) -> tuple[str, ...]:
    """Comma-separated metric keys (default: DEFAULT_METRICS); ParamError naming any the gate cannot judge."""
    if value is None or not value.strip():
        return DEFAULT_METRICS
    keys = tuple(dict.fromkeys(k.strip() for k in value.split(",") if k.strip()))
    wrong = [k for k in keys if k not in COMPARABLE and score_metric(k) is None]
    if wrong or not keys:
        raise ParamError(
            f"metrics={value!r}: {', '.join(wrong) or 'none given'} cannot be compared; "
            f"expected some of {', '.join(COMPARABLE)} or {SCORE_METRIC_PREFIX}NAME "
            "(a score name: a letter, then letters, digits or _ . -)"
        )
    return keys


def parse_tolerances(values: list[str], metrics: tuple[str, ...]) -> dict[str, Tolerance]:
    """``METRIC=X`` (metric's unit) or ``METRIC=X%`` (of the baseline's value) for metrics being compared."""
    out: dict[str, Tolerance] = {}
    for text in values:
        match = _TOLERANCE.match(text)
        if not match:
            raise ParamError(f"tolerance={text!r} is not METRIC=X or METRIC=X% (X a number >= 0)")
        key, number, percent = match.groups()
        if key not in metrics:
            raise ParamError(f"tolerance={text!r}: {key} is not among the metrics compared ({', '.join(metrics)})")
        out[key] = Tolerance(float(number), relative=bool(percent))
    return out


def task_samples(
    store: Store,
    prices: PriceTable,
    flt: TaskFilter,
    baseline: str,
    canary: str,
    scope: Scope,
    scores: tuple[str, ...] = (),
) -> dict[str, dict[str, NDArray[Any]]]:
    """Per-task facts of the two versions' tasks that ``flt`` selects and ``scope`` lets the caller see.

    ``{version: {column: array}}``, one array entry per task; for each score name in ``scores``,
    ``score.NAME``: the latest NAME score of each task that has one (an array of its own length).
    """
    # The scope (team, agent and service globs) is applied inside the per-task rows, as for the metrics.
    with_tasks, params = task_rows_query(store, prices, flt, scope)
    params.update(baseline=baseline, canary=canary)
    rows = {row[0]: row[1:] for row in store.query(with_tasks + _SAMPLES_SQL, params)}
    empty: list[list[float]] = [[] for _ in _COLUMNS]
    samples = {
        version: {
            name: np.asarray(values, dtype=float)
            for name, values in zip(_COLUMNS, rows.get(version, empty), strict=True)
        }
        for version in (baseline, canary)
    }
    if scores:
        for version, found in _score_samples(store, prices, flt, baseline, canary, scope, scores).items():
            samples[version].update(found)
    return samples


def _score_samples(
    store: Store,
    prices: PriceTable,
    flt: TaskFilter,
    baseline: str,
    canary: str,
    scope: Scope,
    scores: tuple[str, ...],
) -> dict[str, dict[str, NDArray[Any]]]:
    """``{version: {score.NAME: values}}``: the latest NAME score of each task of the version that has one."""
    with_tasks, params = task_rows_query(store, prices, flt, scope)
    params.update(baseline=baseline, canary=canary, score_names=list(scores))
    found = {
        (str(version), str(name)): values
        for version, name, values in store.query(with_tasks + _SCORE_SAMPLES_SQL, params)
    }
    return {
        version: {
            SCORE_METRIC_PREFIX + name: np.asarray(found.get((version, name), []), dtype=float) for name in scores
        }
        for version in (baseline, canary)
    }


def _hash_bound(tasks: int, cap: int) -> int:
    """The hash bound under which a version of ``tasks`` tasks almost surely has its ``cap`` smallest hashes."""
    share = (cap * _SUBSET_SLACK + 500) / tasks if tasks else 1.0
    return _HASH_MAX if share >= 1 else int(share * _HASH_MAX)


def _subsets(
    store: Store,
    prices: PriceTable,
    flt: TaskFilter,
    scope: Scope,
    tasks: dict[str, int],
    cap: int,
) -> dict[str, dict[str, NDArray[Any]]]:
    """Per version (of ``tasks``: version -> its tasks): duration_ms, cost and success of the ``cap`` tasks with
    the smallest trace-id hash (every task up to ``cap``), in the order of that hash."""
    (baseline, canary) = tasks
    bounds = {version: _hash_bound(n, cap) for version, n in tasks.items()}
    while True:
        rows_filter = _SUBSET_ROWS if min(bounds.values()) < _HASH_MAX else "1"
        # Neither retries nor loops are read here: the calls of split traces are left out.
        with_tasks, params = task_rows_query(store, prices, flt, scope, rollup_rows=rows_filter, with_calls=False)
        params.update(
            baseline=baseline,
            canary=canary,
            cap=cap,
            bound_any=max(bounds.values()),
            bound_baseline=bounds[baseline],
            bound_canary=bounds[canary],
        )
        found: dict[str, dict[str, NDArray[Any]]] = {}
        for version, hashes, durations, costs, successes in store.query(with_tasks + _SUBSET_SQL, params):
            order = np.argsort(np.asarray(hashes, dtype=np.uint64), kind="stable")
            found[str(version)] = {
                "duration_ms": np.asarray(durations, dtype=float)[order],
                "cost": np.asarray(costs, dtype=float)[order],
                "success": np.asarray(successes, dtype=float)[order],
            }
        short = [
            v
            for v, n in tasks.items()
            if len(found.get(v, {}).get("success", ())) < min(n, cap) and bounds[v] < _HASH_MAX
        ]
        if not short:
            empty = np.zeros(0)
            return {v: found.get(v, {"duration_ms": empty, "cost": empty, "success": empty}) for v in tasks}
        # Fewer tasks under the bound than expected (or than the totals counted): read those versions unbounded.
        bounds.update(dict.fromkeys(short, _HASH_MAX))


def version_samples(
    store: Store,
    prices: PriceTable,
    flt: TaskFilter,
    baseline: str,
    canary: str,
    scope: Scope,
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    *,
    cap: int = stats.BOOTSTRAP_CAP,
) -> dict[str, VersionSample]:
    """What :func:`judge` needs of the two versions' tasks that ``flt`` selects and ``scope`` lets the caller see,
    for ``metrics``: per-task facts only for those tested by a bootstrap, of at most ``cap`` tasks per version
    (those with the smallest ``cityHash64(TraceId)``, in that order)."""
    versions = (baseline, canary)
    totals = version_totals(store, prices, flt, versions, scope)
    tasks = {v: int(totals[v]["tasks"]) if v in totals else 0 for v in versions}
    arrays: dict[str, dict[str, NDArray[Any]]] = {v: {} for v in versions}
    if any(key in _LATENCIES or key in _RATIOS for key in metrics):
        arrays = _subsets(store, prices, flt, scope, tasks, cap)
    names = tuple(name for key in metrics if (name := score_metric(key)) is not None)
    if names:
        for version, found in _score_samples(store, prices, flt, baseline, canary, scope, names).items():
            arrays[version].update(found)
    out: dict[str, VersionSample] = {}
    for v in versions:
        row = totals.get(v, {})
        out[v] = VersionSample(
            tasks=tasks[v],
            totals={name: float(row.get(key, 0)) for name, key in _TOTALS.items()},
            percentiles={q: float(row[f"p{q:g}_ms"]) for q in _LATENCIES.values()} if row else {},
            arrays=arrays[v],
        )
    return out


def levels(metrics: tuple[str, ...]) -> dict[str, float]:
    """Each metric's one-sided level: its share of ALPHA (weighted Bonferroni over ``metrics``, the family).

    PRIMARY gets PRIMARY_SHARE when it is judged beside others, and they share the rest equally;
    without PRIMARY every metric gets an equal share. The levels sum to ALPHA.
    """
    if not metrics:
        return {}
    if PRIMARY in metrics and len(metrics) > 1:
        rest = stats.ALPHA * (1 - PRIMARY_SHARE) / (len(metrics) - 1)
        return {key: stats.ALPHA * PRIMARY_SHARE if key == PRIMARY else rest for key in metrics}
    return dict.fromkeys(metrics, stats.ALPHA / len(metrics))


@dataclass
class _Judged:
    verdict: str
    baseline: float | None
    canary: float | None
    unit: str
    n_baseline: int
    n_canary: int
    alpha: float | None = None  # the metric's one-sided level (None: not in the family)
    result: stats.TestResult | None = None
    p_adjusted: float | None = None
    gate: str = "pass"
    needed_tasks: int | None = None
    reason: str = ""
    enough: bool = False  # both versions have min_samples units: the result is a verdict, not a hint


def _units(units: str, sample: VersionSample) -> int:
    return sample.tasks if units == "one" else int(sample.totals[units])


def _values(key: str, b: VersionSample, c: VersionSample) -> _Judged:
    """The metric's two values and how many units of it each version has."""
    if key in _RATES:
        events, units, unit = _RATES[key]
        xb, xc = int(b.totals[events]), int(c.totals[events])
        nb, nc = _units(units, b), _units(units, c)
        return _Judged("", xb / nb if nb else None, xc / nc if nc else None, unit, nb, nc)
    if score_metric(key) is not None:
        vb, vc = b.arrays[key], c.arrays[key]
        mean_b = float(vb.mean()) if len(vb) else None
        return _Judged("", mean_b, float(vc.mean()) if len(vc) else None, _SCORE_UNIT, len(vb), len(vc))
    if key in _LATENCIES:
        q = _LATENCIES[key]
        baseline = b.percentiles[q] if b.tasks else None
        return _Judged("", baseline, c.percentiles[q] if c.tasks else None, "tasks", b.tasks, c.tasks)
    num, den, unit = _RATIOS[key]
    nb, nc = int(b.totals[den]), int(c.totals[den])
    return _Judged("", b.totals[num] / nb if nb else None, c.totals[num] / nc if nc else None, unit, nb, nc)


def _ratio_variance(sample: VersionSample, num: str, den: str) -> float:
    """The delta method's per-task variance of the ratio, var(num - R * den) / mean(den)², R over every task."""
    ratio = sample.totals[num] / sample.totals[den]
    spread = float((sample.arrays[num] - ratio * sample.arrays[den]).var(ddof=1))
    return spread / (sample.totals[den] / sample.tasks) ** 2


def _test(key: str, b: VersionSample, c: VersionSample, alpha: float) -> stats.TestResult:
    """The metric's test and its interval at the one-sided level ``alpha``."""
    if key in _RATES:
        events, units, _ = _RATES[key]
        return stats.compare_rates(
            int(b.totals[events]), _units(units, b), int(c.totals[events]), _units(units, c), alpha
        )
    if score_metric(key) is not None:
        # A mean of bounded per-task values: the bootstrap of a ratio of sums, each scored task one unit.
        vb, vc = b.arrays[key], c.arrays[key]
        return stats.bootstrap_ratio_difference((vb, np.ones(len(vb))), (vc, np.ones(len(vc))), alpha)
    if key in _LATENCIES:
        q = _LATENCIES[key]
        effect = c.percentiles[q] - b.percentiles[q]
        return stats.compare_percentiles(b.arrays["duration_ms"], c.arrays["duration_ms"], q, alpha, effect=effect)
    num, den, _ = _RATIOS[key]
    effect = c.totals[num] / c.totals[den] - b.totals[num] / b.totals[den]
    if min(b.totals[den], c.totals[den]) >= stats.NORMAL_FROM:
        return stats.normal_ratio_difference(
            (b.totals[num], b.totals[den], b.tasks, _ratio_variance(b, num, den)),
            (c.totals[num], c.totals[den], c.tasks, _ratio_variance(c, num, den)),
            alpha,
        )
    parts_b, parts_c = (b.arrays[num], b.arrays[den]), (c.arrays[num], c.arrays[den])
    return stats.bootstrap_ratio_difference(parts_b, parts_c, alpha, effect=effect)


def _tasks_for(units: int, judged: _Judged, canary_tasks: int) -> int:
    """Canary tasks that bring about ``units`` units of the metric, at the canary's units per task."""
    per_task = judged.n_canary / canary_tasks if canary_tasks and judged.n_canary else 1.0
    return max(0, math.ceil(units / per_task) - canary_tasks)


def _worse_by(key: str, result: stats.TestResult) -> tuple[float, float | None]:
    """How much worse the canary is (> 0: worse), and the interval's worse end in the same sense."""
    if _info(key).higher_is_better:
        return -result.effect, None if result.ci[0] is None else -result.ci[0]
    return result.effect, result.ci[1]


def _gate(
    key: str,
    judged: _Judged,
    tolerance: Tolerance | None,
    tasks: tuple[int, int],
    min_samples: int,
) -> None:
    """Set the metric's gate (pass, fail, inconclusive), why, and the canary tasks that would decide it."""
    baseline_tasks, canary_tasks = tasks
    result = judged.result
    if judged.verdict == "not_applicable":
        judged.gate = "not_applicable"
        judged.reason = f"no {judged.unit} in either version"
        return
    assert judged.alpha is not None
    if not judged.enough:
        judged.gate = "inconclusive"
        if baseline_tasks < min_samples:
            judged.reason = f"the baseline has {baseline_tasks} tasks (needs {min_samples})"
            return
        if judged.n_baseline < min_samples:
            judged.reason = f"the baseline has {judged.n_baseline} {judged.unit} (needs {min_samples})"
            return
        if canary_tasks < min_samples:
            judged.reason = f"the canary has {canary_tasks} tasks (needs {min_samples})"
        else:
            judged.reason = f"the canary has {judged.n_canary} {judged.unit} (needs {min_samples})"
        judged.needed_tasks = max(min_samples - canary_tasks, _tasks_for(min_samples, judged, canary_tasks))
        if result is not None:
            # What the few canary units seen so far suggest: enough to show their difference, or the tolerance.
            allowed = tolerance.absolute(judged.baseline) if tolerance else 0.0
            worse_by, _ = _worse_by(key, result)
            if tolerance is not None and worse_by < allowed:
                distance = allowed - worse_by  # to show it within the tolerance
            else:
                distance = worse_by if worse_by > allowed else 0.0  # to show the worsening (none: nothing to show)
            units = stats.canary_units_needed(
                distance, result.var_baseline, result.var_canary, judged.n_baseline, judged.alpha
            )
            if units is not None:
                judged.needed_tasks = max(judged.needed_tasks, _tasks_for(units, judged, canary_tasks))
        return
    assert result is not None
    worse_by, worst = _worse_by(key, result)
    allowed = tolerance.absolute(judged.baseline) if tolerance else 0.0
    if judged.verdict == "worse" and worse_by > allowed:
        judged.gate = "fail"
        judged.reason = (
            f"significantly worse: {judged.canary:.4g} against {judged.baseline:.4g} (p={judged.p_adjusted:.2g})"
            + (f", beyond the tolerance {tolerance}" if tolerance else "")
        )
        return
    if tolerance is None or judged.verdict == "better" or (worst is not None and worst <= allowed):
        judged.gate = "pass"
        return
    # Not shown worse, and not shown within the tolerance either.
    judged.gate = "inconclusive"
    judged.reason = f"the interval still allows a worsening beyond the tolerance {tolerance}"
    # More tasks would either show it within the tolerance (non-inferiority) or show the worsening.
    distance = allowed - worse_by if worse_by < allowed else worse_by
    units = stats.canary_units_needed(distance, result.var_baseline, result.var_canary, judged.n_baseline, judged.alpha)
    if units is not None:
        judged.needed_tasks = _tasks_for(units, judged, canary_tasks)


def _decide(key: str, j: _Judged) -> None:
    """better / worse iff the corrected one-sided p-value is below ALPHA (iff the interval excludes 0)."""
    assert j.result is not None and j.alpha is not None
    j.p_adjusted = stats.corrected_p(j.result.p_value, j.alpha / stats.ALPHA)
    if j.result.p_value >= j.alpha or j.result.direction == 0:
        j.verdict = "no_difference"
    else:
        j.verdict = "better" if (j.result.direction > 0) == _info(key).higher_is_better else "worse"


def judge(
    baseline: dict[str, NDArray[Any]] | VersionSample,
    canary: dict[str, NDArray[Any]] | VersionSample,
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    tolerances: dict[str, Tolerance] | None = None,
    min_samples: int = MIN_SAMPLES,
) -> GateVerdict:
    """The verdict on ``canary`` against ``baseline`` (per-task arrays, as :func:`task_samples` gives, or
    :class:`VersionSample`, as :func:`version_samples` gives).

    The caller adds who and when (:func:`compare_versions`).
    """
    tolerances = tolerances or {}
    if not isinstance(baseline, VersionSample):
        baseline = VersionSample.of(baseline)
    if not isinstance(canary, VersionSample):
        canary = VersionSample.of(canary)
    baseline_tasks, canary_tasks = baseline.tasks, canary.tasks
    judged = {key: _values(key, baseline, canary) for key in metrics}
    enough_tasks = min(baseline_tasks, canary_tasks) >= min_samples
    for j in judged.values():
        # With min_samples tasks each and not one unit in either, the agent does not do this at all.
        if enough_tasks and j.n_baseline == 0 and j.n_canary == 0:
            j.verdict = "not_applicable"
    family = levels(tuple(k for k in metrics if judged[k].verdict != "not_applicable"))
    for key, alpha in family.items():
        j = judged[key]
        j.alpha = alpha
        # Units of one task are not independent (a task's tool calls share its fate): a per-call rate
        # needs min_samples tasks too, not only min_samples calls.
        j.enough = enough_tasks and min(j.n_baseline, j.n_canary) >= min_samples
        if j.enough or min(j.n_baseline, j.n_canary) >= _HINT_SAMPLES:
            j.result = _test(key, baseline, canary, alpha)
        if j.enough:
            _decide(key, j)
        else:
            j.verdict = "insufficient_data"
    for key in metrics:
        _gate(key, judged[key], tolerances.get(key), (baseline_tasks, canary_tasks), min_samples)
    out = {key: _as_model(key, j, tolerances.get(key)) for key, j in judged.items()}
    failed = [k for k in metrics if judged[k].gate == "fail"]
    open_ = [k for k in metrics if judged[k].gate == "inconclusive"]
    needed = [n for k in open_ if (n := judged[k].needed_tasks) is not None]
    if failed:
        verdict = "fail"
        message = "fail: " + "; ".join(f"{k} is {judged[k].reason}" for k in failed)
    elif open_:
        verdict = "inconclusive"
        reasons: dict[str, list[str]] = {}
        for k in open_:
            reasons.setdefault(judged[k].reason, []).append(k)
        message = "inconclusive: " + "; ".join(f"{', '.join(keys)}: {why}" for why, keys in reasons.items())
        if needed and max(needed) > 0:
            message += f". About {max(needed):,} more canary tasks would decide it at the observed rates"
        elif any(judged[k].n_baseline < min_samples or judged[k].needed_tasks is None for k in open_):
            message += ". More data on both versions is needed"
    else:
        verdict = "promote"
        better = [k for k in metrics if judged[k].verdict == "better"]
        message = "promote: no gated metric is significantly worse" + (
            f" ({', '.join(better)} better)" if better else ""
        )
    return GateVerdict(
        verdict=verdict,
        message=message,
        needed_tasks=max(needed) if needed else None,
        metrics=out,
    )


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _as_model(key: str, j: _Judged, tolerance: Tolerance | None) -> MetricComparison:
    r = j.result if j.enough else None
    return MetricComparison(
        verdict=j.verdict,  # type: ignore[arg-type]  # one of MetricVerdict, set above
        baseline=_number(j.baseline),
        canary=_number(j.canary),
        effect=_number(r.effect) if r else None,
        ci=(_number(r.ci[0]), _number(r.ci[1])) if r else None,
        p_value=j.p_adjusted,
        p_value_raw=r.p_value if r else None,
        test=r.test if r else None,
        alpha=j.alpha,
        confidence=1 - 2 * j.alpha if j.alpha is not None else None,
        unit=j.unit,
        n_baseline=j.n_baseline,
        n_canary=j.n_canary,
        higher_is_better=bool(_info(key).higher_is_better),
        tolerance=str(tolerance) if tolerance else None,
        gate=j.gate,  # type: ignore[arg-type]  # one of MetricGate, set above
        reason=j.reason,
        needed_tasks=j.needed_tasks,
    )


def compare_versions(
    store: Store,
    prices: PriceTable,
    flt: TaskFilter,
    baseline: str,
    canary: str,
    scope: Scope,
    *,
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    tolerances: dict[str, Tolerance] | None = None,
    min_samples: int = MIN_SAMPLES,
) -> Comparison:
    """The canary verdict for agent ``flt.agent``: ``canary`` against ``baseline`` over ``flt``'s window."""
    samples = version_samples(store, prices, flt, baseline, canary, scope, metrics)
    answer = judge(samples[baseline], samples[canary], metrics, tolerances, min_samples)
    return Comparison(
        **answer.model_dump(),
        agent=flt.agent or "",
        service=flt.service,
        baseline=VersionTasks(version=baseline, tasks=samples[baseline].tasks),
        canary=VersionTasks(version=canary, tasks=samples[canary].tasks),
        window=Window.model_validate({"from": flt.start.isoformat(), "to": flt.end.isoformat()}),
        alpha=stats.ALPHA,
        min_samples=min_samples,
    )

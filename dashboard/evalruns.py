"""What the Evaluations page shows, computed from eval reports (no Streamlit here, so it is easy to test).

Reports and run summaries are the API's models (:mod:`tracereel.contracts.evals`). Which of two
runs is older is the collector's run order (its list is newest first: by start, then by upload);
regression and fix between them are :func:`tracereel.evals.compare.compare_runs`, the rule the
CLI's ``--baseline`` uses too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Final

from tracereel.contracts.evals import CaseResult, EvalReport, EvalRunSummary, utc_time
from tracereel.evals.compare import CHANGES, case_label, compare_runs

__all__ = [
    "CHANGES",
    "CLOSE_RUNS",
    "TAG_KEYS",
    "case_rows",
    "history_axis",
    "older_newer",
    "side_by_side",
    "tag_breakdown",
]

# The tags every golden set is asked to cover (what / how / who is asking), shown first.
TAG_KEYS: Final = ("topic", "style", "persona")
# Runs started closer than this are drawn one step apart (by run order), not on a time axis
# where they would sit on one vertical line.
CLOSE_RUNS: Final = timedelta(minutes=1)


def _label(case: CaseResult) -> str:
    """``id``, ``id [variant]``, ``id #2`` for people."""
    return case_label(case.id, case.variant) + (f" #{case.repeat + 1}" if case.repeat else "")


def _score_text(value: bool | float) -> str | float:
    if isinstance(value, bool):
        return "pass" if value else "fail"
    return round(float(value), 3)


def case_rows(report: EvalReport, trace_url: str = "trace?trace_id=") -> list[dict[str, Any]]:
    """One row per case run: label, status, one column per scorer, the reasons (or why it was
    skipped), the error and a link to its trace."""
    scorers = sorted({name for case in report.cases for name in case.scores})
    rows: list[dict[str, Any]] = []
    for case in report.cases:
        row: dict[str, Any] = {"case": _label(case), "status": case.status, "passed": case.passed}
        row.update({f"score: {n}": _score_text(case.scores[n]) if n in case.scores else None for n in scorers})
        if case.status == "skipped":
            row["reasons"] = f"skipped: {case.skip_reason or 'the variant could not apply'}"
        else:
            row["reasons"] = "; ".join(f"{name}: {text}" for name, text in case.reasons.items() if text)
        row["error"] = case.error or ""
        row["tags"] = ", ".join(f"{k}={v}" for k, v in case.tags.items())
        row["trace"] = f"{trace_url}{case.trace_id}" if case.trace_id else None
        rows.append(row)
    return rows


def tag_breakdown(cases: Iterable[CaseResult]) -> list[dict[str, Any]]:
    """Pass rate per tag value over the tested case runs (skipped ones tested nothing): topic, style
    and persona first, then any other tag; untagged cases as ``(none)``."""
    tested = [c for c in cases if c.status != "skipped"]
    keys = [*TAG_KEYS, *sorted({k for c in tested for k in c.tags} - set(TAG_KEYS))]
    rows: list[dict[str, Any]] = []
    for key in keys:
        groups: dict[str, list[bool]] = {}
        for case in tested:
            groups.setdefault(case.tags.get(key) or "(none)", []).append(case.passed)
        if set(groups) <= {"(none)"}:
            continue  # no case has this tag: nothing to break down
        for value in sorted(groups):
            outcomes = groups[value]
            rows.append(
                {
                    "tag": key,
                    "value": value,
                    "cases": len(outcomes),
                    "passed": sum(outcomes),
                    "pass rate": sum(outcomes) / len(outcomes),
                }
            )
    return rows


def older_newer(a: EvalReport, b: EvalReport, newest_first: Sequence[str]) -> tuple[EvalReport, EvalReport]:
    """The two runs as (older, newer) by their place in the collector's newest-first list, whatever
    order they were picked in."""
    place = {run_id: i for i, run_id in enumerate(newest_first)}
    first, second = sorted((a, b), key=lambda r: place.get(r.run_id, -1), reverse=True)
    return first, second


def _mean_scores(cases: Iterable[CaseResult]) -> dict[tuple[str, str | None], dict[str, float]]:
    sums: dict[tuple[str, str | None], dict[str, list[float]]] = {}
    for case in cases:
        if case.status != "skipped":
            for name, value in case.scores.items():
                sums.setdefault((case.id, case.variant), {}).setdefault(name, []).append(float(value))
    return {key: {n: sum(v) / len(v) for n, v in scores.items()} for key, scores in sums.items()}


def side_by_side(older: EvalReport, newer: EvalReport) -> list[dict[str, Any]]:
    """Each case and variant of two runs in one row: its outcome in each, how it changed, and each
    score's difference (means over repeats). Regressions first, then fixes, then the rest, each
    group in the newer run's order."""
    before, after = _mean_scores(older.cases), _mean_scores(newer.cases)
    reasons = {(c.id, c.variant): c for c in newer.cases if c.status != "passed"}
    rows: list[dict[str, Any]] = []
    for item in compare_runs(older, newer):
        key = (item.id, item.variant)
        row: dict[str, Any] = {
            "case": item.label,
            "before": item.before,
            "after": item.after,
            "change": item.change,
        }
        old_scores, new_scores = before.get(key, {}), after.get(key, {})
        for name in sorted(set(old_scores) | set(new_scores)):
            a, b = old_scores.get(name), new_scores.get(name)
            row[f"Δ {name}"] = round(b - a, 3) if a is not None and b is not None else None
        case = reasons.get(key)
        if case is None:
            row["reason now"] = ""
        elif case.status == "skipped":
            row["reason now"] = f"skipped: {case.skip_reason or ''}"
        else:
            row["reason now"] = "; ".join(f"{n}: {t}" for n, t in case.reasons.items() if t) or (case.error or "")
        rows.append(row)
    rows.sort(key=lambda r: CHANGES.index(r["change"]))
    return rows


def history_axis(runs: Sequence[EvalRunSummary]) -> tuple[list[datetime] | list[str], bool]:
    """The x values of runs (oldest first) on the history chart, and whether they are by run order.

    On a time axis unless two consecutive runs started within :data:`CLOSE_RUNS` of each other;
    then one step per run, labelled with its number and start, so none hides another."""
    times = [utc_time(r.started_at) for r in runs]
    if all(b - a >= CLOSE_RUNS for a, b in pairwise(times)):
        return times, False
    return [f"#{i} · {t:%b %d %H:%M:%S}" for i, t in enumerate(times, 1)], True

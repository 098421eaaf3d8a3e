"""What the Evaluations page shows, computed from eval reports (no Streamlit here, so it is easy to test).

A report is ``GET /api/v1/evals/runs/{run_id}`` (DESIGN.md "Evaluation"): cases with ``id``,
``variant``, ``repeat``, ``passed``, ``scores``, ``reasons``, ``error``, ``trace_id`` and ``tags``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

__all__ = ["CHANGES", "TAG_KEYS", "case_key", "case_label", "case_rows", "side_by_side", "tag_breakdown"]

# The tags every golden set is asked to cover (what / how / who is asking), shown first.
TAG_KEYS: Final = ("topic", "style", "persona")
# How a case changed from the older run to the newer one.
CHANGES: Final = ("regression", "fix", "still failing", "still passing", "new", "removed")


def case_key(case: dict[str, Any]) -> tuple[str, str, int]:
    """What names one case of a run: its id, its variant and its repeat number."""
    return str(case.get("id", "")), str(case.get("variant") or ""), int(case.get("repeat") or 0)


def case_label(case: dict[str, Any]) -> str:
    """``id``, ``id [variant]``, ``id #2`` for people."""
    case_id, variant, repeat = case_key(case)
    return case_id + (f" [{variant}]" if variant else "") + (f" #{repeat + 1}" if repeat else "")


def _score_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "pass" if value else "fail"
    return round(float(value), 3) if isinstance(value, int | float) else value


def case_rows(report: dict[str, Any], trace_url: str = "trace?trace_id=") -> list[dict[str, Any]]:
    """One row per case: label, passed, one column per scorer, the reasons, the error and a link to its trace."""
    cases: list[dict[str, Any]] = report.get("cases") or []
    scorers = sorted({name for case in cases for name in case.get("scores") or {}})
    rows = []
    for case in cases:
        scores = case.get("scores") or {}
        reasons = case.get("reasons") or {}
        row: dict[str, Any] = {"case": case_label(case), "passed": bool(case.get("passed"))}
        row.update({f"score: {name}": _score_text(scores[name]) if name in scores else None for name in scorers})
        row["reasons"] = "; ".join(f"{name}: {text}" for name, text in reasons.items() if text)
        row["error"] = case.get("error") or ""
        row["tags"] = ", ".join(f"{k}={v}" for k, v in (case.get("tags") or {}).items())
        row["trace"] = f"{trace_url}{case['trace_id']}" if case.get("trace_id") else None
        rows.append(row)
    return rows


def tag_breakdown(cases: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pass rate per tag value: topic, style and persona first, then any other tag; untagged cases as ``(none)``."""
    cases = list(cases)
    keys = [*TAG_KEYS, *sorted({k for c in cases for k in c.get("tags") or {}} - set(TAG_KEYS))]
    rows = []
    for key in keys:
        groups: dict[str, list[bool]] = {}
        for case in cases:
            value = (case.get("tags") or {}).get(key) or "(none)"
            groups.setdefault(value, []).append(bool(case.get("passed")))
        if set(groups) == {"(none)"}:
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


def _change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    if before is None:
        return "new"
    if after is None:
        return "removed"
    was, now = bool(before.get("passed")), bool(after.get("passed"))
    if was and not now:
        return "regression"
    if now and not was:
        return "fix"
    return "still passing" if now else "still failing"


def side_by_side(older: dict[str, Any], newer: dict[str, Any]) -> list[dict[str, Any]]:
    """Each case of two runs in one row: passed in each, how it changed, and each score's difference.

    Rows come regressions first, then fixes, then the rest, each group in the newer run's order.
    """
    before = {case_key(c): c for c in older.get("cases") or []}
    after = {case_key(c): c for c in newer.get("cases") or []}
    order = [*after, *(k for k in before if k not in after)]
    rows = []
    for key in order:
        old, new = before.get(key), after.get(key)
        case = new or old or {}
        row: dict[str, Any] = {
            "case": case_label(case),
            "before": None if old is None else bool(old.get("passed")),
            "after": None if new is None else bool(new.get("passed")),
            "change": _change(old, new),
        }
        old_scores, new_scores = (old or {}).get("scores") or {}, (new or {}).get("scores") or {}
        for name in sorted(set(old_scores) | set(new_scores)):
            a, b = old_scores.get(name), new_scores.get(name)
            row[f"Δ {name}"] = round(float(b) - float(a), 3) if a is not None and b is not None else None
        row["reason now"] = "; ".join(f"{n}: {t}" for n, t in ((new or {}).get("reasons") or {}).items() if t)
        rows.append(row)
    rows.sort(key=lambda r: CHANGES.index(r["change"]))
    return rows

"""Eval run history: checking a posted report, storing it, and reading runs back (DESIGN.md "Evaluation").

A report is what ``tracereel eval --json`` prints (``EvalReport.to_dict()``). It is stored whole,
as canonical JSON, next to the columns the history list reads (dataset, start, pass rate, mean
scores, counts, gate), so ``GET /api/v1/evals/runs/{run_id}`` answers exactly what was posted.

A run id is stored once. Posting the same report again is accepted and changes nothing (an
upload retried after a lost answer must not fail a CI job); a different report under a stored
id is a conflict, refused, and the stored one is kept.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final, cast

from tracereel.collector.query.scope import EVERYTHING, Scope, scope_sql
from tracereel.collector.store import EVAL_RUNS_TABLE, Store

__all__ = [
    "RUN_ID_PATTERN",
    "EvalReportError",
    "EvalRunConflict",
    "StoredEvalRun",
    "get_eval_run",
    "list_eval_runs",
    "parse_eval_report",
    "store_eval_run",
]

# Safe in a URL path segment as it is: letters, digits and . _ : @ + - (a uuid, a ULID, a timestamp).
RUN_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$")
_MAX_DATASET: Final = 200
_COLUMNS: Final = (
    "RunId",
    "Dataset",
    "StartedAt",
    "Agent",
    "PassRate",
    "Scores",
    "CaseCount",
    "PassedCount",
    "GatePassed",
    "Regressions",
    "BaselineRunId",
    "Report",
    "Team",
)
# One check-then-insert at a time, so two uploads of one run id cannot both be stored.
_WRITE_LOCK = threading.Lock()


class EvalReportError(ValueError):
    """The posted report cannot be stored; the message names the field (answered with 400)."""


class EvalRunConflict(Exception):
    """Another report is already stored under this run id (answered with 409)."""


@dataclass(frozen=True)
class StoredEvalRun:
    """A checked report and the columns it is stored with."""

    run_id: str
    dataset: str
    started_at: datetime
    agent: str
    pass_rate: float
    scores: dict[str, float]
    case_count: int
    passed_count: int
    gate_passed: bool
    regressions: list[str]
    baseline_run_id: str
    report_json: str  # canonical: sorted keys, no spaces

    def row(self) -> list[Any]:
        """The values in the table's column order."""
        return [
            self.run_id,
            self.dataset,
            self.started_at,
            self.agent,
            self.pass_rate,
            self.scores,
            self.case_count,
            self.passed_count,
            int(self.gate_passed),
            self.regressions,
            self.baseline_run_id,
            self.report_json,
        ]


def _reject_constant(name: str) -> Any:
    raise EvalReportError(f"the report holds {name}, which JSON cannot carry: send finite numbers only")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(data: dict[str, Any], key: str, *, required: bool, limit: int = 10_000) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise EvalReportError(f"{key}: expected a non-empty string, got {_shown(value)}")
    if len(value) > limit:
        raise EvalReportError(f"{key}: longer than {limit} characters")
    return value


def _shown(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _score_map(value: Any, field: str, *, graded_only: bool) -> dict[str, float]:
    if not isinstance(value, dict):
        raise EvalReportError(f"{field}: expected an object of scorer name -> number, got {_shown(value)}")
    out: dict[str, float] = {}
    for name, score in cast(dict[str, Any], value).items():
        if isinstance(score, bool) and not graded_only:
            out[name] = float(score)
        elif _is_number(score):
            out[name] = float(score)
        else:
            kind = "a number" if graded_only else "a number or a boolean"
            raise EvalReportError(f"{field}.{name}: expected {kind}, got {_shown(score)}")
    return out


def _check_case(case: Any, i: int, seen: set[tuple[str, Any, Any]]) -> bool:
    where = f"cases[{i}]"
    if not isinstance(case, dict):
        raise EvalReportError(f"{where}: expected an object with id and passed, got {_shown(case)}")
    c = cast(dict[str, Any], case)
    if not isinstance(c.get("id"), str) or not c["id"].strip():
        raise EvalReportError(f"{where}.id: expected a non-empty string, got {_shown(c.get('id'))}")
    if not isinstance(c.get("passed"), bool):
        raise EvalReportError(f"{where}.passed: expected true or false, got {_shown(c.get('passed'))}")
    _score_map(c.get("scores", {}), f"{where}.scores", graded_only=False)
    for key in ("reasons", "tags", "methods"):
        value = c.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in cast(dict[str, Any], value).values()):
            raise EvalReportError(f"{where}.{key}: expected an object of name -> string, got {_shown(value)}")
    for key in ("variant", "trace_id", "error"):
        if c.get(key) is not None and not isinstance(c[key], str):
            raise EvalReportError(f"{where}.{key}: expected a string or null, got {_shown(c[key])}")
    repeat = c.get("repeat", 0)
    if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 0:
        raise EvalReportError(f"{where}.repeat: expected a whole number >= 0, got {_shown(repeat)}")
    key = (c["id"], c.get("variant"), repeat)
    if key in seen:
        variant = c.get("variant")
        raise EvalReportError(f"{where}: case {c['id']!r} (variant {variant}, repeat {repeat}) is listed twice")
    seen.add(key)
    return c["passed"]


def parse_eval_report(body: bytes) -> StoredEvalRun:
    """Check a posted report (JSON bytes) and make its row; :class:`EvalReportError` names what is wrong."""
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except EvalReportError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise EvalReportError(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise EvalReportError(f"expected a JSON object (an eval report), got {type(data).__name__}")
    report = cast(dict[str, Any], data)
    run_id = report.get("run_id")
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id):
        raise EvalReportError(
            f"run_id: expected 1-128 letters, digits or . _ : @ + - (starting with a letter or digit), "
            f"got {_shown(run_id)}"
        )
    dataset = _text(report, "dataset", required=True, limit=_MAX_DATASET)
    started_text = report.get("started_at")
    try:
        if not isinstance(started_text, str):
            raise ValueError
        started = datetime.fromisoformat(started_text)
    except ValueError:
        raise EvalReportError(f"started_at: expected an ISO-8601 time, got {_shown(started_text)}") from None
    started = (started if started.tzinfo else started.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    pass_rate = report.get("pass_rate")
    if not _is_number(pass_rate) or not 0.0 <= float(pass_rate) <= 1.0:
        raise EvalReportError(f"pass_rate: expected a number from 0 to 1, got {_shown(pass_rate)}")
    scores = _score_map(report.get("scores", {}), "scores", graded_only=True)
    agent = _text(report, "agent", required=False)
    cases = report.get("cases")
    if not isinstance(cases, list):
        raise EvalReportError(f"cases: expected a list of case objects, got {_shown(cases)}")
    seen: set[tuple[str, Any, Any]] = set()
    passed = sum(_check_case(case, i, seen) for i, case in enumerate(cast(list[Any], cases)))
    regressions = report.get("regressions", [])
    if not isinstance(regressions, list) or not all(isinstance(r, str) for r in cast(list[Any], regressions)):
        raise EvalReportError(f"regressions: expected a list of case ids, got {_shown(regressions)}")
    gate = report.get("gate", {"passed": True})
    if not isinstance(gate, dict) or not isinstance(cast(dict[str, Any], gate).get("passed"), bool):
        raise EvalReportError(f"gate: expected an object with passed: true or false, got {_shown(gate)}")
    baseline = report.get("baseline")
    if baseline is not None and not isinstance(baseline, dict):
        raise EvalReportError(f"baseline: expected an object or null, got {_shown(baseline)}")
    baseline_id = cast(dict[str, Any], baseline or {}).get("run_id")
    return StoredEvalRun(
        run_id=run_id,
        dataset=dataset,
        started_at=started,
        agent=agent,
        pass_rate=float(pass_rate),
        scores=scores,
        case_count=len(cast(list[Any], cases)),
        passed_count=passed,
        gate_passed=cast(dict[str, Any], gate)["passed"],
        regressions=cast(list[str], regressions),
        baseline_run_id=baseline_id if isinstance(baseline_id, str) else "",
        report_json=json.dumps(report, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
    )


def store_eval_run(store: Store, run: StoredEvalRun, team: str = "") -> bool:
    """Store ``run`` as ``team``'s (the uploader's); True if stored now, False if this report was stored before.

    :class:`EvalRunConflict` if another report has its run id (nothing is written then).
    """
    with _WRITE_LOCK:
        stored = _stored_report(store, run.run_id)
        if stored is not None:
            if stored == run.report_json:
                return False
            raise EvalRunConflict(
                f"eval run {run.run_id} is already stored with a different report; "
                "a run id names one run: upload this one under a new id"
            )
        store.insert_rows(EVAL_RUNS_TABLE, [[*run.row(), team]], _COLUMNS)
    return True


def _eval_scope(scope: Scope) -> tuple[str, dict[str, Any]]:
    """``scope`` over eval runs: the uploader's team and the run's agent.

    A run has no service, so a key narrowed to services sees no runs (it cannot be shown that
    a run belongs to its services); an unrestricted or team-and-agent key is not affected.
    """
    if scope.services:
        return "0", {}
    return scope_sql(scope, agent_column="Agent", service_column=None)


def _stored_report(store: Store, run_id: str, scope: Scope = EVERYTHING) -> str | None:
    visible, params = _eval_scope(scope)
    rows = store.query(
        f"SELECT Report FROM {EVAL_RUNS_TABLE} WHERE RunId = {{run_id:String}} AND {visible} ORDER BY StoredAt LIMIT 1",
        {"run_id": run_id, **params},
    )
    return str(rows[0][0]) if rows else None


def get_eval_run(store: Store, run_id: str, scope: Scope = EVERYTHING) -> dict[str, Any] | None:
    """The report stored under ``run_id``, or None (also for a run outside ``scope``)."""
    stored = _stored_report(store, run_id, scope)
    return None if stored is None else cast(dict[str, Any], json.loads(stored))


def _iso(value: datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc).isoformat()


def list_eval_runs(
    store: Store, *, dataset: str | None = None, limit: int = 100, scope: Scope = EVERYTHING
) -> list[dict[str, Any]]:
    """Run summaries (no cases), newest first, of one dataset or of all, among those ``scope`` may see."""
    visible, params = _eval_scope(scope)
    where = f"WHERE {visible}" + (" AND Dataset = {dataset:String}" if dataset else "")
    rows = store.query_dicts(
        f"""SELECT RunId, Dataset, StartedAt, Agent, PassRate, Scores, CaseCount, PassedCount, GatePassed,
       Regressions, BaselineRunId
FROM {EVAL_RUNS_TABLE}
{where}
ORDER BY StartedAt DESC, RunId DESC, StoredAt ASC
LIMIT 1 BY RunId
LIMIT {{limit:UInt32}}""",
        {"dataset": dataset or "", "limit": limit, **params},
    )
    return [
        {
            "run_id": r["RunId"],
            "dataset": r["Dataset"],
            "started_at": _iso(r["StartedAt"]),
            "agent": r["Agent"] or None,
            "pass_rate": r["PassRate"],
            "scores": dict(r["Scores"]),
            "case_count": r["CaseCount"],
            "passed_count": r["PassedCount"],
            "gate_passed": bool(r["GatePassed"]),
            "regressions": list(r["Regressions"]),
            "baseline_run_id": r["BaselineRunId"] or None,
        }
        for r in rows
    ]

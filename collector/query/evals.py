"""Eval run history: checking a posted report, storing it, and reading runs back (DESIGN.md "Evaluation").

A report is what ``tracereel eval --json`` prints, checked by the one model of it
(:class:`tracereel.contracts.evals.EvalReportUpload`). It is stored whole, as canonical JSON,
next to the columns the history list reads (dataset, start, pass rate, mean scores, counts,
gate), so ``GET /api/v1/evals/runs/{run_id}`` answers what was posted, with what an older
client left out (case ``status``, ``counts``) derived.

A run id is stored once. Posting the same report again is accepted and changes nothing (an
upload retried after a lost answer must not fail a CI job); a different report under a stored
id is a conflict, refused, and the stored one is kept.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from tracereel.collector.query.scope import EVERYTHING, Scope, scope_sql
from tracereel.collector.store import EVAL_RUNS_TABLE, Store
from tracereel.contracts.evals import (
    RUN_ID_PATTERN,
    CaseCounts,
    EvalReport,
    EvalReportUpload,
    EvalRunSummary,
    utc_time,
)

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


def _where(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a path people read: ``cases[2].scores.exact``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _problem(error: ErrorDetails) -> str:
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    where = _where(tuple(error.get("loc", ())))
    shown = "" if error.get("type") in ("missing", "extra_forbidden") else f", got {_shown(error.get('input'))}"
    if error.get("type") in ("model_type", "model_attributes_type", "dict_type"):
        return f"{where + ': e' if where else 'E'}xpected a JSON object{'' if where else ' (an eval report)'}{shown}"
    return f"{where or '(the report)'}: {message}{shown}"


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_eval_report(body: bytes) -> StoredEvalRun:
    """Check a posted report (JSON bytes) against :class:`~tracereel.contracts.evals.EvalReportUpload`
    and make its row; :class:`EvalReportError` names what is wrong (the first three problems)."""
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except EvalReportError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise EvalReportError(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise EvalReportError(f"expected a JSON object (an eval report), got {type(data).__name__}")
    try:
        report = EvalReportUpload.model_validate(data)
    except ValidationError as exc:
        raise EvalReportError("; ".join(_problem(e) for e in exc.errors()[:3])) from None
    counts = report.counts or CaseCounts.of(report.cases)
    stored = report.model_dump(mode="json")
    return StoredEvalRun(
        run_id=report.run_id,
        dataset=report.dataset,
        started_at=utc_time(report.started_at),
        agent=report.agent or "",
        pass_rate=report.pass_rate,
        scores=dict(report.scores),
        case_count=counts.total,
        passed_count=counts.passed,
        gate_passed=report.gate.passed,
        regressions=list(report.regressions),
        baseline_run_id=(report.baseline.run_id if report.baseline else None) or "",
        # The checked report, with what older clients leave out derived (status, counts), so a
        # reader of the store never derives it again.
        report_json=json.dumps(stored, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
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


def get_eval_run(store: Store, run_id: str, scope: Scope = EVERYTHING) -> EvalReport | None:
    """The report stored under ``run_id``, or None (also for a run outside ``scope``).

    A report stored before case ``status`` existed loads too: the model derives it."""
    stored = _stored_report(store, run_id, scope)
    return None if stored is None else EvalReport.model_validate_json(stored)


def _iso(value: datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc).isoformat()


def list_eval_runs(
    store: Store, *, dataset: str | None = None, limit: int = 100, scope: Scope = EVERYTHING
) -> list[EvalRunSummary]:
    """Run summaries (no cases) among those ``scope`` may see, of one dataset or of all: newest
    first, runs started at the same moment in the reverse order they were stored (the order
    the dashboard reads as run order)."""
    visible, params = _eval_scope(scope)
    where = f"WHERE {visible}" + (" AND Dataset = {dataset:String}" if dataset else "")
    rows = store.query_dicts(
        f"""SELECT RunId, Dataset, StartedAt, Agent, PassRate, Scores, CaseCount, PassedCount, GatePassed,
       Regressions, BaselineRunId, JSONExtractUInt(Report, 'counts', 'skipped') AS SkippedCount
FROM {EVAL_RUNS_TABLE}
{where}
ORDER BY StartedAt DESC, StoredAt DESC, RunId DESC
LIMIT 1 BY RunId
LIMIT {{limit:UInt32}}""",
        {"dataset": dataset or "", "limit": limit, **params},
    )
    return [
        EvalRunSummary(
            run_id=r["RunId"],
            dataset=r["Dataset"],
            started_at=_iso(r["StartedAt"]),
            agent=r["Agent"] or None,
            pass_rate=r["PassRate"],
            scores=dict(r["Scores"]),
            case_count=r["CaseCount"],
            passed_count=r["PassedCount"],
            skipped_count=r["SkippedCount"],
            gate_passed=bool(r["GatePassed"]),
            regressions=list(r["Regressions"]),
            baseline_run_id=r["BaselineRunId"] or None,
        )
        for r in rows
    ]

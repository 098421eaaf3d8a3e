"""Eval runs on the wire: the report ``tracereel eval`` prints and uploads, and the run history.

- ``POST /api/v1/evals/runs`` takes an :class:`EvalReportUpload` and answers :class:`EvalRunStored`.
- ``GET /api/v1/evals/runs`` answers :class:`EvalRunList` (summaries, newest first).
- ``GET /api/v1/evals/runs/{run_id}`` answers the :class:`EvalReport`.

Each case row says what was tested: ``status`` is ``passed``, ``failed`` or ``skipped`` (a
variant that could not apply, with ``skip_reason``). A report stored before ``status`` existed
still loads: its status is derived from ``passed``. The models are strict (a number is a
number, not a string holding one), so a posted report is checked once, here.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, model_validator

from tracereel.contracts import Response

__all__ = [
    "CASE_STATUSES",
    "RUN_ID_PATTERN",
    "BaselineRef",
    "CaseCounts",
    "CaseResult",
    "CaseStatus",
    "Consistency",
    "EvalReport",
    "EvalReportUpload",
    "EvalRunList",
    "EvalRunStored",
    "EvalRunSummary",
    "GateResult",
    "utc_time",
]

# Safe in a URL path segment as it is: letters, digits and . _ : @ + - (a uuid, a ULID, a timestamp).
RUN_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$")
CASE_STATUSES: Final = ("passed", "failed", "skipped")
CaseStatus = Literal["passed", "failed", "skipped"]

_STRICT: Final = ConfigDict(strict=True)
# Checked by the validators below (whose messages say what is expected), and stated in the
# OpenAPI document, so a client generating requests from it makes ones the collector accepts.
_NOT_BLANK: Final = re.compile(r"\S")


def _run_id(value: str) -> str:
    if not RUN_ID_PATTERN.match(value):
        raise ValueError("expected 1-128 letters, digits or . _ : @ + - (starting with a letter or digit)")
    return value


def utc_time(value: str) -> datetime:
    """An ISO-8601 time as an aware UTC datetime (no zone: UTC; ``Z`` read on Python 3.10 too)."""
    parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _iso_time(value: str) -> str:
    # Kept as sent (the stored report reads back as posted); only checked to be a time.
    try:
        utc_time(value)
    except ValueError:
        raise ValueError(f"expected an ISO-8601 time, got {value!r}") from None
    return value


def _not_blank(value: str) -> str:
    if not _NOT_BLANK.search(value):
        raise ValueError("expected a non-empty string")
    return value


def _score_value(value: Any) -> Any:
    # One clear message for a scorer's value, instead of one error per member of the union.
    if isinstance(value, bool) or (isinstance(value, int | float) and value == value):
        return value
    raise ValueError(f"expected a number or true/false, got {value!r}")


RunId = Annotated[str, AfterValidator(_run_id), Field(json_schema_extra={"pattern": RUN_ID_PATTERN.pattern})]
IsoTime = Annotated[str, AfterValidator(_iso_time), Field(json_schema_extra={"format": "date-time"})]
Name = Annotated[
    str,
    Field(min_length=1, max_length=10_000, json_schema_extra={"pattern": _NOT_BLANK.pattern}),
    AfterValidator(_not_blank),
]
Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Mean = Annotated[float, Field(allow_inf_nan=False)]
ScoreValue = Annotated[bool | Mean, BeforeValidator(_score_value)]


class CaseResult(Response):
    """One case run of the report: a case (or a variant of it, or a repeat) and what came of it."""

    model_config = _STRICT

    id: Name
    variant: str | None = None  # "fault:tool:x=timeout", "perturb:typos", "prompt-injection:3"; null: the case
    passed: bool  # status == "passed"; kept for readers of reports older than status
    status: CaseStatus
    skip_reason: str | None = None  # why a skipped variant could not apply
    output: Any = None
    scores: dict[str, ScoreValue] = Field(default_factory=dict[str, bool | float])
    reasons: dict[str, str] = Field(default_factory=dict[str, str])
    methods: dict[str, str] = Field(default_factory=dict[str, str])
    error: str | None = None
    trace_id: str | None = None
    tags: dict[str, str] = Field(default_factory=dict[str, str])
    repeat: int = Field(0, ge=0)  # 0-based run number with --repeat
    failed: list[str] = Field(default_factory=list[str])  # the scorers that did not pass

    @model_validator(mode="before")
    @classmethod
    def _derive_status(cls, data: Any) -> Any:
        """A report from before ``status``: derived from ``passed``; ``passed`` from ``status`` when absent."""
        if isinstance(data, dict):
            row: dict[str, Any] = dict(data)  # pyright: ignore[reportUnknownArgumentType]
            if "status" not in row and isinstance(row.get("passed"), bool):
                row["status"] = "passed" if row["passed"] else "failed"
            elif "passed" not in row and row.get("status") in CASE_STATUSES:
                row["passed"] = row["status"] == "passed"
            return row
        return data

    @model_validator(mode="after")
    def _agree(self) -> CaseResult:
        if self.passed != (self.status == "passed"):
            raise ValueError(f"passed is {str(self.passed).lower()} but status is {self.status}")
        return self


class CaseCounts(Response):
    """How many case runs passed, failed and were skipped (the pass rate counts the first two)."""

    model_config = _STRICT

    total: int = Field(ge=0)
    passed: int = Field(ge=0)
    failed: int = Field(ge=0)
    skipped: int = Field(ge=0)

    @classmethod
    def of(cls, cases: list[CaseResult]) -> CaseCounts:
        """The counts of ``cases``."""
        statuses = [c.status for c in cases]
        return cls(
            total=len(statuses),
            passed=statuses.count("passed"),
            failed=statuses.count("failed"),
            skipped=statuses.count("skipped"),
        )


class GateResult(Response):
    """Whether the run may ship: every gate passed, or the reasons it did not."""

    model_config = _STRICT

    passed: bool = True
    reasons: list[str] = Field(default_factory=list[str])


class BaselineRef(Response):
    """The stored run a report was compared with (``--baseline``)."""

    model_config = _STRICT

    run_id: str | None = None
    dataset: str | None = None
    started_at: str | None = None
    pass_rate: Fraction | None = None
    scores: dict[str, Mean] = Field(default_factory=dict[str, float])
    agent: str | None = None


class Consistency(Response):
    """With ``--repeat``: per case and variant, how many runs passed and how often they agreed."""

    model_config = _STRICT

    id: str
    variant: str | None = None
    runs: int = Field(ge=0)
    passed: int = Field(ge=0)
    distinct_outputs: int = Field(ge=0)
    agreement: Fraction


class EvalReport(Response):
    """The whole run: what ``tracereel eval --json`` prints and ``GET /api/v1/evals/runs/{run_id}`` serves.

    ``pass_rate`` is passed / (passed + failed): skipped case runs tested nothing and are left
    out of it (and of ``scores``, the mean of each scorer over the same case runs).
    """

    model_config = _STRICT

    run_id: RunId
    dataset: Annotated[Name, Field(max_length=200)]
    started_at: IsoTime  # ISO 8601, UTC
    agent: str | None = Field(None, max_length=10_000)
    pass_rate: Fraction
    counts: CaseCounts | None = None  # derived from cases when absent (older reports)
    scores: dict[str, Mean] = Field(default_factory=dict[str, float])  # mean per scorer
    cases: list[CaseResult]
    baseline: BaselineRef | None = None
    regressions: list[str] = Field(default_factory=list[str])  # passed in the baseline, fail now
    fixes: list[str] = Field(default_factory=list[str])  # failed in the baseline, pass now
    gate: GateResult = Field(default_factory=GateResult)
    options: dict[str, Any] = Field(default_factory=dict[str, Any])  # tools/llm mode, repeat, variants, ...
    seconds: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    consistency: list[Consistency] = Field(default_factory=list[Consistency])

    @model_validator(mode="after")
    def _checked(self) -> EvalReport:
        seen: set[tuple[str, str | None, int]] = set()
        for i, case in enumerate(self.cases):
            key = (case.id, case.variant, case.repeat)
            if key in seen:
                raise ValueError(
                    f"cases[{i}]: case {case.id!r} (variant {case.variant}, repeat {case.repeat}) is listed twice"
                )
            seen.add(key)
        counted = CaseCounts.of(self.cases)
        if self.counts is not None and self.counts != counted:
            raise ValueError(f"counts {self.counts.model_dump()} do not match the cases ({counted.model_dump()})")
        self.counts = counted
        return self


class EvalReportUpload(EvalReport):
    """``POST /api/v1/evals/runs``: a report, refusing fields it does not know (a typo is a 400 naming
    it), as :class:`tracereel.contracts.Request` bodies do; the same fields as :class:`EvalReport`."""

    model_config = ConfigDict(extra="forbid", strict=True)


class EvalRunStored(Response):
    """The answer to an upload."""

    run_id: str


class EvalRunSummary(Response):
    """One stored run in the history list (no cases)."""

    run_id: str
    dataset: str
    started_at: str
    agent: str | None = None
    pass_rate: float
    scores: dict[str, float] = Field(default_factory=dict[str, float])
    case_count: int  # every case run, skipped ones too
    passed_count: int
    skipped_count: int = 0
    gate_passed: bool
    regressions: list[str] = Field(default_factory=list[str])
    baseline_run_id: str | None = None


class EvalRunList(Response):
    """``GET /api/v1/evals/runs``: summaries, newest first (by start, then by upload)."""

    runs: list[EvalRunSummary]

"""What evaluation is made of: datasets and cases, a case's run, scores, and the report (DESIGN.md "Evaluation").

Everything else in ``tracereel.evals`` reads and writes these types: the dataset loader makes
:class:`Dataset` and :class:`Case`, the runner turns a case into a :class:`CaseRun`, scorers
turn a run into :class:`Score` values, and the report gathers :class:`CaseResult` rows into an
:class:`EvalReport` whose ``to_dict()`` is the ``--json`` output and what the collector stores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tracereel.traces import SpanJSON

__all__ = [
    "Case",
    "CaseResult",
    "CaseRun",
    "Dataset",
    "EvalReport",
    "GateResult",
    "Score",
    "Scorer",
    "ScorerSpec",
]

# How a case names a scorer: "exact", {"tool_called": "refund"}, {"llm_judge": {"rubric": ...}}, "pkg.mod:func".
ScorerSpec = str | Mapping[str, Any]


@dataclass(frozen=True)
class Case:
    """One golden case: an input for the entry point, what is expected, and how to judge it."""

    id: str
    input: dict[str, Any]  # keyword arguments of the entry point
    expected: Any = None
    expected_from: str | None = None  # "module:func" computing the expected value from the input
    tags: dict[str, str] = field(default_factory=dict[str, str])  # topic / style / persona / ...
    trace: str | None = None  # path of a recorded trace file, relative to the dataset file
    faults: dict[str, str] = field(default_factory=dict[str, str])  # {"tool:NAME": "timeout" | "error"}
    scorers: tuple[ScorerSpec, ...] = ()  # empty: the dataset's defaults
    variant: str | None = None  # set on generated variants: "fault:tool:x=timeout", "perturb:typos", ...
    canary: str | None = None  # the token an injection variant planted (scored by no_canary)
    trap: bool = False  # a hallucination trap: every tool returns nothing relevant (empty values)
    # "tool:NAME#N" -> the value served instead of the recorded result (injection variants)
    overrides: dict[str, Any] = field(default_factory=dict[str, Any])
    line: int | None = None  # where the case starts in its file (1-based), for error messages


@dataclass(frozen=True)
class Dataset:
    """A golden set: a YAML mapping or a JSONL file of cases, reviewed like code."""

    name: str
    path: str
    cases: tuple[Case, ...]
    agent: str | None = None  # default entry point "module:func"
    scorers: tuple[ScorerSpec, ...] = ()


@dataclass
class CaseRun:
    """What running one case produced: the output (or the exception), and the calls it made."""

    case: Case
    output: Any = None
    error: str | None = None  # "Type: message" of an exception the agent raised, or why it could not run
    divergence: str | None = None  # the replay's report of a call the tape could not serve
    trace_id: str | None = None  # the case run's own trace (linked to its source)
    spans: list[SpanJSON] = field(default_factory=list[SpanJSON])  # every span of that trace
    seconds: float = 0.0


@dataclass(frozen=True)
class Score:
    """One scorer's verdict on one run. ``value`` is a bool or a number in [0, 1]."""

    name: str
    value: bool | float
    passed: bool
    reason: str = ""
    method: str = ""  # how it was scored, e.g. "judge:gpt-4o-mini" or "fallback:token-overlap"


class Scorer(Protocol):
    """A scorer: called with the run, returns a :class:`Score` (or a bool / float the runner wraps)."""

    def __call__(self, run: CaseRun, **options: Any) -> Score | bool | float: ...


@dataclass
class CaseResult:
    """One row of the report."""

    id: str
    variant: str | None
    passed: bool
    output: Any
    scores: dict[str, bool | float]
    reasons: dict[str, str]
    error: str | None
    trace_id: str | None
    tags: dict[str, str] = field(default_factory=dict[str, str])
    methods: dict[str, str] = field(default_factory=dict[str, str])
    repeat: int = 0  # 0-based run number with --repeat
    failed: list[str] = field(default_factory=list[str])  # the scorers that did not pass

    def to_dict(self) -> dict[str, Any]:
        """The case as the report's JSON has it."""
        return {
            "id": self.id,
            "variant": self.variant,
            "passed": self.passed,
            "output": self.output,
            "scores": self.scores,
            "reasons": self.reasons,
            "methods": self.methods,
            "error": self.error,
            "trace_id": self.trace_id,
            "tags": self.tags,
            "repeat": self.repeat,
            "failed": self.failed,
        }


@dataclass
class GateResult:
    """Whether the run may ship: every gate passed, or the reasons it did not."""

    passed: bool
    reasons: list[str] = field(default_factory=list[str])


@dataclass
class EvalReport:
    """The whole run: what ``--json`` prints and ``GET /api/v1/evals/runs/{run_id}`` serves."""

    run_id: str
    dataset: str
    started_at: str  # ISO 8601, UTC
    pass_rate: float
    scores: dict[str, float]  # mean per scorer
    cases: list[CaseResult]
    baseline: dict[str, Any] | None = None  # {"run_id", "pass_rate", ...} of the compared run
    regressions: list[str] = field(default_factory=list[str])  # case ids that passed in the baseline, fail now
    gate: GateResult = field(default_factory=lambda: GateResult(True))
    agent: str | None = None
    options: dict[str, Any] = field(default_factory=dict[str, Any])  # tools/llm mode, repeat, variants, ...
    seconds: float = 0.0
    # with --repeat: per case and variant, how often the runs agreed (see runner.consistency)
    consistency: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-able data."""
        return {
            "run_id": self.run_id,
            "dataset": self.dataset,
            "started_at": self.started_at,
            "agent": self.agent,
            "pass_rate": self.pass_rate,
            "scores": self.scores,
            "cases": [c.to_dict() for c in self.cases],
            "baseline": self.baseline,
            "regressions": self.regressions,
            "gate": {"passed": self.gate.passed, "reasons": self.gate.reasons},
            "options": self.options,
            "seconds": self.seconds,
            "consistency": self.consistency,
        }

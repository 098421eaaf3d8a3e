"""What evaluation is made of: datasets and cases, a case's run, scores, and the report (DESIGN.md "Evaluation").

Everything else in ``tracereel.evals`` reads and writes these types: the dataset loader makes
:class:`Dataset` and :class:`Case`, the runner turns a case into a :class:`CaseRun`, scorers
turn a run into :class:`Score` values, and the report gathers :class:`CaseResult` rows into an
:class:`EvalReport`. The report's types are the HTTP API's (:mod:`tracereel.contracts.evals`):
``report.model_dump(mode="json")`` is the ``--json`` output and what the collector stores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tracereel.contracts.evals import CaseResult, CaseStatus, EvalReport, GateResult
from tracereel.traces import SpanJSON

__all__ = [
    "Case",
    "CaseResult",
    "CaseRun",
    "CaseStatus",
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
    skipped: str | None = None  # why the variant could not apply: nothing was tested
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

"""Online rules on the wire (DESIGN.md "Production loop", docs/online.md).

- ``POST /api/v1/online/rules`` takes a :class:`RuleDefinition` (what ``tracereel online add``
  sends and checks first with the same model) and answers :class:`RuleView`.
- ``GET /api/v1/online/rules`` answers :class:`RuleList`: each rule with its :class:`RuleProgress`.
- ``DELETE /api/v1/online/rules/{name}`` answers :class:`RemovedRule`.
- ``GET /api/v1/online/rules/{name}/pending`` answers :class:`PendingTraces`: the work the
  evaluator fetches, finished traces in the rule's sample that it has not scored yet.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from tracereel.contracts import Request, Response
from tracereel.monitors import parse_window
from tracereel.online import NAME_PATTERN, parse_scorer, scorer_problem
from tracereel.traces import SpanJSON

__all__ = [
    "MAX_SCORERS",
    "PendingTrace",
    "PendingTraces",
    "RemovedRule",
    "RuleDefinition",
    "RuleList",
    "RuleProgress",
    "RuleView",
    "RuleWithProgress",
]

MAX_SCORERS = 10
_Text = Annotated[str | None, Field(max_length=200)]


def _seconds(window: str | int) -> int:
    return 0 if str(window).strip() in ("0", "0s") else parse_window(window)


class RuleDefinition(Request):
    """An online rule to add: which scorers run on which sample of which agent's finished traces."""

    name: str = Field(json_schema_extra={"pattern": NAME_PATTERN.pattern}, description="1-64 letters, digits or . _ -")
    scorers: list[Annotated[str, Field(max_length=2000)]] = Field(
        min_length=1,
        max_length=MAX_SCORERS,
        description="Reference-free built-ins (groundedness, llm_judge, max_steps=8, ...) or module:func",
    )
    agent: _Text = Field(None, description="Only traces whose root agent matches this glob")
    version: _Text = Field(None, description="Only traces of this agent version")
    sample: float = Field(0.1, description="The share of traces scored, in (0, 1]; chosen by trace id")
    rubric: str | None = Field(None, max_length=10_000, description="What llm_judge asks the judge to check")
    backfill: str | int = Field(
        0, description="Also score traces that ended up to this long before the rule was added: 0, 1h, 1d (<= 30d)"
    )

    @field_validator("backfill")
    @classmethod
    def _backfill(cls, value: str | int) -> str | int:
        _seconds(value)  # its ValueError names the window
        return value

    @property
    def backfill_seconds(self) -> int:
        """``backfill`` in seconds."""
        return _seconds(self.backfill)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not NAME_PATTERN.match(value):
            raise ValueError(f"expected 1-64 letters, digits or . _ - (starting with a letter or digit), got {value!r}")
        return value

    @field_validator("sample")
    @classmethod
    def _sample(cls, value: float) -> float:
        if not 0.0 < value <= 1.0:  # NaN fails this too
            raise ValueError(f"expected a share in (0, 1], e.g. 0.1 for one trace in ten, got {value!r}")
        return value

    @field_validator("scorers")
    @classmethod
    def _scorers(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for spec in value:
            problem = scorer_problem(spec)
            if problem:
                raise ValueError(problem)
            name = parse_scorer(spec)[0]
            if name in seen:
                raise ValueError(f"scorer {name!r} is given twice (its scores would overwrite each other)")
            seen.add(name)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RuleDefinition:
        names = {parse_scorer(spec)[0] for spec in self.scorers}
        if "llm_judge" in names and not self.rubric:
            raise ValueError("rubric: llm_judge needs one (a production trace has no expected output to compare with)")
        if self.version and not self.agent:
            raise ValueError("version: give the agent too (a version is one agent's)")
        return self


class RuleView(Response):
    """A stored rule: its definition, the team of the key that added it, and when."""

    name: str
    scorers: list[str]
    agent: str | None
    version: str | None
    sample: float
    rubric: str | None
    backfill_seconds: int = 0
    team: str
    created_at: str


class RuleProgress(Response):
    """How far the evaluators are with a rule, from its scores (source ``online:NAME``).

    ``lag_seconds`` is the age of the oldest finished trace in the rule's sample that has no
    score yet (now minus its end), 0 when none waits: how far behind the evaluators are.
    """

    scored: int = Field(description="Traces with a score of this rule")
    errors: int = Field(description="Scores labelled error: a scorer raised (the comment says why)")
    pending: int = Field(description="Finished traces in the sample not scored yet")
    lag_seconds: float = Field(description="Age of the oldest pending trace (0: none pending)")


class RuleWithProgress(RuleView):
    """A rule and how far its scoring is (None when not asked for: ``?progress=false``)."""

    progress: RuleProgress | None


class RuleList(Response):
    """``GET /api/v1/online/rules``: the rules the key may see, by name."""

    rules: list[RuleWithProgress]


class RemovedRule(Response):
    """``DELETE /api/v1/online/rules/{name}``: the rule no longer scores anything; its scores stay."""

    removed: str


class PendingTrace(Response):
    """A finished trace to score: its spans (without events, links or costs) and when it ended."""

    trace_id: str
    end_unix_nano: int
    spans: list[SpanJSON]


class PendingTraces(Response):
    """``GET /api/v1/online/rules/{name}/pending``: the rule and its oldest unscored sampled traces."""

    rule: RuleView
    traces: list[PendingTrace]

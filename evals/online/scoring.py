"""Scoring one finished trace for one online rule: the rule's scorers bound once, run on the recorded run.

The scorers are the evals' own (:mod:`tracereel.evals.scorers`, the judges of
:mod:`tracereel.evals.judge`), run on a :class:`~tracereel.evals.model.CaseRun` made from the
trace: its root agent's recorded input and output, and its spans. A production trace has no
expected output, so ``llm_judge`` gets the rule's rubric. Whatever goes wrong becomes a score
labelled ``error`` whose comment says why (a scorer that raises, one that cannot be loaded, a
trace without a root agent); nothing here raises, so the worker goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

from tracereel.contracts.online import PendingTrace, RuleView
from tracereel.contracts.scores import ScoreIn, check_score_name
from tracereel.evals.dataset import case_from_trace
from tracereel.evals.model import Case, CaseRun, ScorerSpec
from tracereel.evals.scorers import BoundScorer, UnknownScorer, resolve
from tracereel.online import parse_scorer, source_of

__all__ = ["ERROR_LABEL", "BoundRule", "bind_rule", "builtin_problem", "score_trace"]

ERROR_LABEL: Final = "error"
_MAX_COMMENT: Final = 10_000


def _score_name(name: str) -> str:
    # A score name is an identifier (read back as score.NAME): module:func scores as func.
    short = name.rpartition(":")[2].rpartition(".")[2] if ":" in name else name
    try:
        return check_score_name(short)
    except ValueError:
        return "custom"


def _spec(name: str, value: Any, rule: RuleView) -> ScorerSpec:
    """The evals scorer spec of ``NAME[=VALUE]``: the rule's rubric for llm_judge, a score name for module:func."""
    if name == "llm_judge":
        options: dict[str, Any] = dict(cast(Mapping[str, Any], value)) if isinstance(value, Mapping) else {}
        rubric = value if isinstance(value, str) else rule.rubric
        return {name: {**options, "rubric": rubric}} if rubric else {name: options}
    if ":" in name:
        options = dict(cast(Mapping[str, Any], value)) if isinstance(value, Mapping) else {}
        return {name: {"label": _score_name(name), **options}}
    return name if value is None else {name: value}


@dataclass(frozen=True)
class _Broken:
    """A scorer that could not be loaded: every trace gets an error score saying why."""

    name: str
    reason: str


@dataclass(frozen=True)
class BoundRule:
    """A rule with its scorers resolved, ready to score traces (kept while the rule is unchanged)."""

    rule: RuleView
    scorers: tuple[BoundScorer | _Broken, ...]

    @property
    def key(self) -> tuple[str, str, tuple[str, ...], str | None]:
        """What identifies this version of the rule: re-added or changed, it is bound again."""
        return (self.rule.name, self.rule.created_at, tuple(self.rule.scorers), self.rule.rubric)


def bind_rule(rule: RuleView) -> BoundRule:
    """Resolve each of ``rule``'s scorers; one that cannot be loaded scores errors, it does not stop the rest."""
    bound: list[BoundScorer | _Broken] = []
    for spec in rule.scorers:
        name, value = parse_scorer(spec)
        try:
            if value is not None and not isinstance(value, Mapping) and ":" in name:
                raise UnknownScorer(f"scorer {name!r}: give its options as a JSON mapping ({name}={{...}})")
            bound.append(resolve(_spec(name, value, rule)))
        except UnknownScorer as exc:
            bound.append(_Broken(_score_name(name), str(exc)))
        except Exception as exc:  # a module that fails on import is the user's bug, not the worker's
            bound.append(_Broken(_score_name(name), f"cannot load scorer {name!r}: {type(exc).__name__}: {exc}"))
    return BoundRule(rule, tuple(bound))


def _error(trace_id: str, name: str, source: str, reason: str) -> ScoreIn:
    return ScoreIn(
        trace_id=trace_id,
        name=name,
        value=0.0,
        label=ERROR_LABEL,
        comment=reason[:_MAX_COMMENT],
        source=source,
        author="tracereel evaluator",
        time=None,
        id=None,  # the collector derives it from (rule, trace, name): a rescore replaces
    )


def _run(trace: PendingTrace) -> CaseRun:
    agent, inputs, output, error = case_from_trace({"trace_id": trace.trace_id, "spans": trace.spans})
    case = Case(id=f"{agent}-{trace.trace_id[:8]}", input=inputs)
    return CaseRun(case=case, output=output, error=error, trace_id=trace.trace_id, spans=list(trace.spans))


def score_trace(bound: BoundRule, trace: PendingTrace) -> list[ScoreIn]:
    """The scores of ``trace`` under ``bound``'s rule: one per scorer, an ``error`` one for any that failed."""
    source = source_of(bound.rule.name)
    try:
        run = _run(trace)
    except Exception as exc:  # no root agent, unreadable recorded input: nothing a scorer can judge
        reason = f"cannot read the trace's run: {type(exc).__name__}: {exc}"
        return [_error(trace.trace_id, _name_of(s), source, reason) for s in bound.scorers]
    out: list[ScoreIn] = []
    for scorer in bound.scorers:
        if isinstance(scorer, _Broken):
            out.append(_error(trace.trace_id, scorer.name, source, scorer.reason))
            continue
        name = _score_name(scorer.name)
        try:
            verdict = scorer(run)  # catches what the scorer raises: method "error"
        except Exception as exc:  # BoundScorer's own wrapping failed (a judge's settings): still one line
            out.append(_error(trace.trace_id, name, source, f"{type(exc).__name__}: {exc}"))
            continue
        if verdict.method == "error":
            out.append(_error(trace.trace_id, name, source, verdict.reason))
            continue
        out.append(
            ScoreIn(
                trace_id=trace.trace_id,
                name=name,
                value=float(verdict.value),
                label="pass" if verdict.passed else "fail",
                comment=verdict.reason[:_MAX_COMMENT] or None,
                source=source,
                author=verdict.method or "tracereel evaluator",
                time=None,
                id=None,
            )
        )
    return out


def _name_of(scorer: BoundScorer | _Broken) -> str:
    return _score_name(scorer.name)


def builtin_problem(rule: RuleView) -> str | None:
    """Why one of ``rule``'s built-in scorers cannot run with its options (``max_steps`` without a limit), or None.

    ``module:func`` scorers are not imported here: they are loaded where the evaluator runs.
    """
    for spec in rule.scorers:
        name, value = parse_scorer(spec)
        if ":" in name:
            continue
        try:
            resolve(_spec(name, value, rule))
        except UnknownScorer as exc:
            return str(exc)
    return None

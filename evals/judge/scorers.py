"""The ``llm_judge`` and ``groundedness`` scorers: a judge when one is configured, else a named fallback.

Both have the engine's scorer signature (the run, then options from the dataset) and always
return a :class:`~tracereel.evals.model.Score` whose ``method`` says what scored it:
``judge:MODEL``, ``judge-error:MODEL`` (the judge gave no verdict: the score fails and the
reason says why), or a ``fallback:*`` method of :mod:`tracereel.evals.judge.fallback`. A
judge's failure is a failed score, never an exception; bad options (a threshold outside
[0, 1]) and bad settings (:class:`~tracereel.sdk.settings.ConfigError`) raise, since no case
can be scored until they are fixed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from tracereel import semconv as sc
from tracereel.evals.judge.fallback import SUPPORT_OVERLAP, TOKEN_OVERLAP, support_overlap, token_overlap
from tracereel.evals.judge.judges import Judge, JudgeError, judge_from_settings
from tracereel.evals.judge.prompt import (
    DEFAULT_GROUNDEDNESS_RUBRIC,
    DEFAULT_LLM_JUDGE_RUBRIC,
    Evidence,
    JudgePrompt,
    render,
)
from tracereel.evals.model import CaseRun, Score
from tracereel.traces import SpanJSON

__all__ = ["groundedness", "llm_judge", "tool_evidence"]

_NO_JUDGE = "no judge is configured (set TRACEREEL_JUDGE_MODEL, see docs/judge.md)"


def _check_threshold(scorer: str, threshold: object) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or math.isnan(threshold):
        raise ValueError(f"{scorer}: threshold must be a number from 0 to 1, got {threshold!r}")
    if not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"{scorer}: threshold must be a number from 0 to 1, got {threshold!r}")
    return float(threshold)


def _graded(name: str, value: float, threshold: float, reason: str, method: str) -> Score:
    return Score(name, value, value >= threshold, reason, method)


def _ask(name: str, judge: Judge, prompt: JudgePrompt, threshold: float) -> Score:
    try:
        verdict = judge(prompt)
    except JudgeError as exc:
        return Score(name, 0.0, False, f"the judge gave no verdict: {exc}", f"judge-error:{judge.name}")
    except Exception as exc:  # a third-party Judge implementation: its bug must not end the run
        return Score(name, 0.0, False, f"the judge raised {type(exc).__name__}: {exc}", f"judge-error:{judge.name}")
    return _graded(name, verdict.score, threshold, verdict.reason, f"judge:{judge.name}")


def _no_output(run: CaseRun) -> str | None:
    """Why there is nothing to score, when the agent produced no output."""
    if run.output is not None:
        return None
    if run.error:
        return f"no output to judge: the run failed ({run.error})"
    if run.divergence:
        return f"no output to judge: the replay diverged ({run.divergence})"
    return None


def llm_judge(
    run: CaseRun,
    *,
    rubric: str | None = None,
    threshold: float = 0.5,
    judge: Judge | None = None,
    **_: Any,
) -> Score:
    """Compare the run's output with the case's expected output under ``rubric``; a score in [0, 1].

    With no judge (none passed, none configured) the ``fallback:token-overlap`` method scores,
    and a rubric it cannot apply is named in the reason. A case without an expected output
    needs a rubric and a judge.
    """
    name = "llm_judge"
    limit = _check_threshold(name, threshold)
    active = judge if judge is not None else judge_from_settings()
    method = f"judge:{active.name}" if active is not None else TOKEN_OVERLAP
    missing = _no_output(run)
    if missing:
        return Score(name, 0.0, False, missing, method)
    expected = run.case.expected
    has_expected = expected is not None
    if active is not None:
        if not has_expected and rubric is None:
            return Score(
                name, 0.0, False, "nothing to judge against: the case has no expected output and no rubric", method
            )
        prompt = JudgePrompt(
            task=name,
            rubric=rubric or DEFAULT_LLM_JUDGE_RUBRIC,
            output=run.output,
            input=run.case.input or None,
            expected=expected,
            has_expected=has_expected,
        )
        return _ask(name, active, prompt, limit)
    if not has_expected:
        return Score(name, 0.0, False, f"the case has no expected output to compare with, and {_NO_JUDGE}", method)
    score, reason = token_overlap(render(run.output), render(expected))
    if rubric is not None:
        reason += f"; the rubric was not applied: {_NO_JUDGE}"
    return _graded(name, score, limit, reason, method)


def tool_evidence(spans: Iterable[SpanJSON]) -> tuple[Evidence, ...]:
    """What the run's tools returned, in call order: each tool span's name and recorded result."""
    found: list[tuple[int, Evidence]] = []
    for span in spans:
        attributes = span.get("attributes") or {}
        if sc.TOOL_CALL_RESULT not in attributes:
            continue  # not a tool call, or one that raised (nothing came back)
        tool = attributes.get(sc.TOOL_NAME) or span.get("name", "").removeprefix(f"{sc.OP_EXECUTE_TOOL} ")
        result = attributes[sc.TOOL_CALL_RESULT]
        found.append((span.get("start_time_unix_nano", 0), Evidence(str(tool), render(result))))
    found.sort(key=lambda item: item[0])
    return tuple(evidence for _, evidence in found)


def groundedness(run: CaseRun, *, threshold: float = 0.5, judge: Judge | None = None, **_: Any) -> Score:
    """Is the output supported by what the tools returned (run.spans) or by the input? A score in [0, 1].

    With no judge (none passed, none configured) the ``fallback:support-overlap`` method scores.
    """
    name = "groundedness"
    limit = _check_threshold(name, threshold)
    active = judge if judge is not None else judge_from_settings()
    method = f"judge:{active.name}" if active is not None else SUPPORT_OVERLAP
    missing = _no_output(run)
    if missing:
        return Score(name, 0.0, False, missing, method)
    evidence = tool_evidence(run.spans)
    if active is not None:
        prompt = JudgePrompt(
            task=name,
            rubric=DEFAULT_GROUNDEDNESS_RUBRIC,
            output=run.output,
            input=run.case.input or None,
            evidence=evidence,
        )
        return _ask(name, active, prompt, limit)
    sources = [item.result for item in evidence]
    if run.case.input:
        sources.append(render(run.case.input))
    score, reason = support_overlap(render(run.output), sources)
    if not evidence:
        reason += " (no tool returned anything)"
    return _graded(name, score, limit, reason, method)

"""Scorers by name: the built-in deterministic ones, the LLM judges (lazily) and custom ``module:func``.

A case names scorers as ``"exact"``, ``{"tool_called": "refund"}`` (the scorer's main option)
or ``{"numeric": {"tolerance": 0.01}}`` (its options); every form may add ``threshold`` (graded
scorers pass at score >= threshold, default 0.5) and ``label`` (its key in the report).
:func:`resolve` turns a spec into a :class:`BoundScorer` and fails with :class:`UnknownScorer`
at load time, so a typo is exit 2 before anything runs.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from tracereel.evals.model import CaseRun, Score, ScorerSpec
from tracereel.evals.scorers import builtin

__all__ = ["BUILTIN", "DEFAULT_THRESHOLD", "JUDGES", "BoundScorer", "UnknownScorer", "resolve", "scorer_names"]

DEFAULT_THRESHOLD = 0.5

BUILTIN: dict[str, Callable[..., Any]] = {
    "exact": builtin.exact,
    "contains": builtin.contains,
    "regex": builtin.regex,
    "json_match": builtin.json_match,
    "numeric": builtin.numeric,
    "tool_called": builtin.tool_called,
    "tool_not_called": builtin.tool_not_called,
    "tool_sequence": builtin.tool_sequence,
    "max_steps": builtin.max_steps,
    "escalated": builtin.escalated,
    "no_canary": builtin.no_canary,
    "abstains": builtin.abstains,
}

# The judges live in their own package (an optional HTTP client, settings): imported on first use.
JUDGES = {
    "llm_judge": "tracereel.evals.judge:llm_judge",
    "groundedness": "tracereel.evals.judge:groundedness",
}

# The option a scorer's short form ({"tool_called": "refund"}) sets.
_MAIN_OPTION = {
    "exact": "expected",
    "contains": "text",
    "regex": "pattern",
    "json_match": "expected",
    "numeric": "tolerance",
    "tool_called": "name",
    "tool_not_called": "name",
    "tool_sequence": "sequence",
    "max_steps": "limit",
    "escalated": "expected",
    "no_canary": "forbidden",
    "abstains": "phrases",
    "llm_judge": "rubric",
    "groundedness": "threshold",
}


class UnknownScorer(ValueError):
    """A scorer spec that names nothing known, or gives options the scorer does not take."""


@dataclass(frozen=True)
class BoundScorer:
    """A scorer with its options, ready to score runs."""

    name: str  # the key in the report's scores
    func: Callable[..., Any] = field(repr=False)
    options: dict[str, Any] = field(default_factory=dict[str, Any])
    threshold: float = DEFAULT_THRESHOLD

    def __call__(self, run: CaseRun) -> Score:
        """Score ``run``; a scorer that raises fails with the exception as its reason."""
        try:
            raw = self.func(run, **self.options)
        except Exception as exc:
            return Score(self.name, False, False, f"scorer raised {type(exc).__name__}: {exc}", "error")
        if isinstance(raw, Score):
            passed = raw.passed if isinstance(raw.value, bool) else float(raw.value) >= self.threshold
            if raw.method.startswith(("judge", "fallback")):
                passed = raw.passed  # the judge applied the threshold it was given
            return Score(self.name, raw.value, passed, raw.reason, raw.method)
        if isinstance(raw, bool):
            return Score(self.name, raw, raw, "", "custom")
        if isinstance(raw, int | float):
            value = float(raw)
            return Score(self.name, value, value >= self.threshold, "", "custom")
        return Score(self.name, False, False, f"scorer returned {type(raw).__name__}, not a Score/bool/number", "error")


def _import(target: str, what: str) -> Callable[..., Any]:
    module_name, _, attr = target.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # user scorers live in the project, like entry points
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise UnknownScorer(
            f"unknown scorer {what!r}: cannot import {module_name} ({type(exc).__name__}: {exc})"
        ) from None
    func: Any = module
    for part in attr.split("."):
        func = getattr(func, part, None)
        if func is None:
            raise UnknownScorer(f"unknown scorer {what!r}: {module_name} has no {attr}")
    if not callable(func):
        raise UnknownScorer(f"unknown scorer {what!r}: {target} is not callable")
    return cast(Callable[..., Any], func)


def _lookup(name: str) -> Callable[..., Any]:
    if name in BUILTIN:
        return BUILTIN[name]
    if name in JUDGES:
        return _import(JUDGES[name], name)
    if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*", name):
        return _import(name, name)
    known = ", ".join([*BUILTIN, *JUDGES])
    raise UnknownScorer(f"unknown scorer {name!r} (known: {known}; or module:func)")


def resolve(spec: ScorerSpec) -> BoundScorer:
    """The scorer ``spec`` names, with its options checked against its signature."""
    if isinstance(spec, str):
        name, options = spec, {}
    elif len(spec) == 1:
        name, value = next(iter(spec.items()))
        if value is None:
            options = {}
        elif isinstance(value, Mapping):
            options = dict(cast(Mapping[str, Any], value))
        elif name in _MAIN_OPTION:
            options = {_MAIN_OPTION[name]: value}
        else:
            raise UnknownScorer(f"scorer {name!r}: give its options as a mapping")
    else:
        raise UnknownScorer(f"scorer {spec!r}: expected a name or a mapping of one name to its options")
    if not name:
        raise UnknownScorer(f"scorer {spec!r}: the name must be text")
    func = _lookup(name)
    label = str(options.pop("label", name))
    threshold_value = options.get("threshold", DEFAULT_THRESHOLD)
    try:
        threshold = float(threshold_value)
    except (TypeError, ValueError):
        raise UnknownScorer(f"scorer {name!r}: threshold {threshold_value!r} is not a number") from None
    params: dict[str, inspect.Parameter]
    try:
        params = dict(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        params = {}
    if "threshold" not in params:
        options.pop("threshold", None)  # applied here, not by the scorer
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    if params and not takes_any:
        unknown = [o for o in options if o not in params]
        if unknown:
            raise UnknownScorer(
                f"scorer {name!r} has no option {unknown[0]!r} (options: {', '.join(list(params)[1:])})"
            )
        missing = [
            p.name
            for i, p in enumerate(params.values())
            if i > 0
            and p.default is p.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            and p.name not in options
        ]
        if missing:
            raise UnknownScorer(f"scorer {name!r} needs option {missing[0]!r}, e.g. {{{name}: VALUE}}")
    if name == "regex":
        try:
            re.compile(str(options.get("pattern", "")))
        except re.error as exc:
            raise UnknownScorer(f"scorer 'regex': bad pattern {options.get('pattern')!r} ({exc})") from None
    return BoundScorer(label, func, options, threshold)


def scorer_names() -> list[str]:
    """Every built-in scorer name and the judges'."""
    return [*BUILTIN, *JUDGES]

"""Planning a run: every case (and its variants) checked before anything runs, its scorers, entry
point and recording resolved, so a dataset that cannot run is exit 2 up front."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from tracereel.evals.dataset import DatasetError
from tracereel.evals.model import Case, Dataset, ScorerSpec
from tracereel.evals.options import MODES, RunOptions
from tracereel.evals.scorers import BoundScorer, UnknownScorer, resolve
from tracereel.evals.variants import VariantError, expand, load_corpus

__all__ = ["Plan", "Recorded", "prepare"]


@dataclass
class Recorded:
    """A loaded trace file and what the runner needs from its tape."""

    trace: dict[str, Any]
    root_index: int
    root_input: str
    entrypoint: str
    tools: list[tuple[str, int, str]]  # (name, number in the trace, result JSON) of every served tool call
    called: frozenset[tuple[str, str]] = frozenset()  # (kind, name) of every recorded call


@dataclass
class Plan:
    """One case, checked: its scorers, its entry point and its recording."""

    case: Case
    scorers: list[BoundScorer]
    func: Callable[..., Any] | None = None  # the entry point to call (live) or to pass to replay
    entrypoint: str | None = None  # the entry point's spec given by --agent or the dataset (else recorded)
    recorded: Recorded | None = None
    extra: dict[str, Any] = field(default_factory=dict[str, Any])


def _load_recorded(dataset: Dataset, case: Case, cache: dict[str, Recorded]) -> Recorded:
    from tracereel.replay import CannotReplay, Tape, load_file

    assert case.trace is not None
    path = str(Path(dataset.path).parent / case.trace)
    if path in cache:
        return cache[path]
    try:
        trace = cast(dict[str, Any], load_file(path))
        tape = Tape(trace)
    except CannotReplay as exc:
        raise DatasetError(dataset.path, f"trace {case.trace}: {exc}", case.id) from None
    root_index = next(
        (i for i, s in enumerate(trace["spans"]) if str(s.get("span_id")) == tape.root.span_id),
        -1,
    )
    tools: list[tuple[str, int, str]] = []
    for call in tape.calls:
        if call.kind == "tool" and call.result_json is not None:
            tools.append((call.name, call.number, call.result_json))
    recorded = Recorded(
        trace=trace,
        root_index=root_index,
        root_input=tape.root.arguments_json or "{}",
        entrypoint=str(tape.root.entrypoint or ""),
        tools=tools,
        called=frozenset((call.kind, call.name) for call in tape.calls),
    )
    cache[path] = recorded
    return recorded


def _entrypoint(dataset: Dataset, case: Case, spec: str, file: str | None = None) -> Callable[..., Any]:
    from tracereel.replay import CannotReplay, load_entrypoint

    try:
        return load_entrypoint(spec, file=file)
    except CannotReplay as exc:
        raise DatasetError(dataset.path, f"entry point {spec} cannot be imported: {exc}", case.id) from None


def _expected_from(dataset: Dataset, case: Case) -> Any:
    assert case.expected_from is not None
    func = _entrypoint(dataset, case, case.expected_from)
    try:
        return func(**case.input)
    except Exception as exc:
        raise DatasetError(
            dataset.path, f"expected_from {case.expected_from} raised {type(exc).__name__}: {exc}", case.id
        ) from None


def prepare(dataset: Dataset, options: RunOptions) -> list[Plan]:
    """Check every case can run (entry points import, traces load, expected_from computes) and
    resolve its scorers; :class:`DatasetError` naming the case otherwise. Variants included."""
    for mode, what in ((options.tools, "--tools"), (options.llm, "--llm")):
        if mode is not None and mode not in MODES:
            raise DatasetError(dataset.path, f"{what} {mode!r}: expected tape or live")
    if options.repeat < 1 or options.concurrency < 1:
        raise DatasetError(dataset.path, "--repeat and --concurrency must be at least 1")
    try:
        corpus = load_corpus(options.attack_corpus) if options.attack else None
        cases = expand(
            dataset.cases,
            faults=options.faults,
            perturbations=options.perturb,
            attack=options.attack,
            corpus=corpus,
            seed=options.seed,
        )
    except VariantError as exc:
        raise DatasetError(dataset.path, str(exc)) from None
    cache: dict[str, Recorded] = {}
    scorer_cache: dict[str, BoundScorer] = {}
    funcs: dict[str, tuple[Callable[..., Any], str | None]] = {}
    expected: dict[str, Any] = {}
    plans: list[Plan] = []
    for case in cases:
        specs: Sequence[ScorerSpec] = case.scorers or dataset.scorers or ("exact",)
        bound: list[BoundScorer] = []
        for spec in specs:
            key = json.dumps(spec, sort_keys=True, default=str)
            if key not in scorer_cache:
                try:
                    scorer_cache[key] = resolve(spec)
                except UnknownScorer as exc:
                    raise DatasetError(dataset.path, str(exc), case.id) from None
            bound.append(scorer_cache[key])
        names = Counter(b.name for b in bound)
        seen: Counter[str] = Counter()
        for i, b in enumerate(bound):  # the same scorer twice in a case: name#2, so neither hides the other
            if names[b.name] > 1:
                seen[b.name] += 1
                if seen[b.name] > 1:
                    bound[i] = replace(b, name=f"{b.name}#{seen[b.name]}")
        if case.expected_from is not None:
            if case.id not in expected:
                expected[case.id] = _expected_from(dataset, case)
            case = replace(case, expected=expected[case.id])
        recorded = _load_recorded(dataset, case, cache) if case.trace else None
        spec = options.agent or dataset.agent
        if case.id not in funcs:
            if spec:
                funcs[case.id] = (_entrypoint(dataset, case, spec), spec)
            elif recorded is not None:
                root_file = None
                from tracereel import semconv as sc

                spans = cast(list[dict[str, Any]], recorded.trace["spans"])
                root: dict[str, Any] = spans[recorded.root_index] if recorded.root_index >= 0 else {}
                attributes = cast(dict[str, Any], root.get("attributes") or {})
                root_file = cast(str | None, attributes.get(sc.ENTRYPOINT_FILE))
                if not recorded.entrypoint:
                    raise DatasetError(dataset.path, "the trace does not name its entry point: set agent:", case.id)
                funcs[case.id] = (_entrypoint(dataset, case, recorded.entrypoint, root_file), None)
            else:
                raise DatasetError(
                    dataset.path,
                    "no trace and no entry point: set agent: module:func in the file or pass --agent",
                    case.id,
                )
        func, entry = funcs[case.id]
        plans.append(Plan(case=case, scorers=bound, func=func, entrypoint=entry, recorded=recorded))
    if any(b.name.split("#")[0] in _JUDGED for plan in plans for b in plan.scorers):
        _check_judge_settings(dataset)
    return plans


_JUDGED = ("llm_judge", "groundedness")


def _check_judge_settings(dataset: Dataset) -> None:
    # A malformed judge setting would fail every judged case the same way: say it once, up front,
    # as "cannot run" (exit 2), rather than as failed cases (exit 1).
    from tracereel.evals.judge import judge_from_settings
    from tracereel.sdk.settings import ConfigError

    try:
        judge_from_settings()
    except ConfigError as exc:
        raise DatasetError(dataset.path, str(exc)) from None

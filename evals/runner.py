"""Running a golden set: every case (and its variants, K times) through the replay engine or live, scored.

A case with a trace is replayed: its tools and model are served from the recording (``tape``)
or run for real (``live``), and a call the tape cannot serve stops the case with the replay's
divergence report as its error. A case without a trace calls the entry point live with its
input. Each case run is its own trace, marked with the eval attributes on its root span (see
:mod:`tracereel.evals.capture`), and scored from its output and its spans.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

from opentelemetry import context as otel_context

from tracereel.evals import capture
from tracereel.evals.dataset import DatasetError, load_dataset
from tracereel.evals.model import Case, CaseResult, CaseRun, Dataset, EvalReport, Score, ScorerSpec
from tracereel.evals.scorers import BoundScorer, UnknownScorer, resolve
from tracereel.evals.variants import INJECTION_TARGET, VariantError, empty_like, expand, load_corpus, plant
from tracereel.sdk import hooks
from tracereel.sdk.hooks import BoundaryCall, to_json

__all__ = ["MODES", "RunOptions", "consistency", "evaluate", "prepare", "run_case"]

MODES = ("tape", "live")


@dataclass(frozen=True)
class RunOptions:
    """How to run a dataset (the ``tracereel eval`` options that are not gates)."""

    agent: str | None = None  # "module:func" instead of the dataset's / recorded entry point
    tools: str | None = None  # tape | live; None: tape for a case with a trace
    llm: str | None = None  # tape | live; None: tape for a case with a trace (live for attack/perturb/trap)
    repeat: int = 1
    concurrency: int = 1
    faults: tuple[str, ...] = ()  # "tool:NAME=timeout|error"
    perturb: tuple[str, ...] = ()
    attack: str | None = None  # "prompt-injection"
    attack_corpus: str | None = None  # extra injections (JSON list or one per line)
    seed: int = 0
    progress: bool = False  # a progress bar on stderr

    def as_dict(self) -> dict[str, Any]:
        """The options as the report's ``options``."""
        return {
            "agent": self.agent,
            "tools": self.tools,
            "llm": self.llm,
            "repeat": self.repeat,
            "concurrency": self.concurrency,
            "faults": list(self.faults),
            "perturb": list(self.perturb),
            "attack": self.attack,
            "seed": self.seed,
        }


@dataclass
class _Recorded:
    """A loaded trace file and what the runner needs from its tape."""

    trace: dict[str, Any]
    root_index: int
    root_input: str
    entrypoint: str
    tools: list[tuple[str, int, str]]  # (name, number in the trace, result JSON) of every served tool call


@dataclass
class _Plan:
    """One case, checked: its scorers, its entry point and its recording."""

    case: Case
    scorers: list[BoundScorer]
    func: Callable[..., Any] | None = None  # the entry point to call (live) or to pass to replay
    entrypoint: str | None = None  # the entry point's spec given by --agent or the dataset (else recorded)
    recorded: _Recorded | None = None
    extra: dict[str, Any] = field(default_factory=dict[str, Any])


def _load_recorded(dataset: Dataset, case: Case, cache: dict[str, _Recorded]) -> _Recorded:
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
    recorded = _Recorded(
        trace=trace,
        root_index=root_index,
        root_input=tape.root.arguments_json or "{}",
        entrypoint=str(tape.root.entrypoint or ""),
        tools=tools,
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


def prepare(dataset: Dataset, options: RunOptions) -> list[_Plan]:
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
    cache: dict[str, _Recorded] = {}
    scorer_cache: dict[str, BoundScorer] = {}
    funcs: dict[str, tuple[Callable[..., Any], str | None]] = {}
    expected: dict[str, Any] = {}
    plans: list[_Plan] = []
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
        plans.append(_Plan(case=case, scorers=bound, func=func, entrypoint=entry, recorded=recorded))
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


# --- running one case -----------------------------------------------------------------------------


def _bound_input(func: Callable[..., Any], inputs: dict[str, Any]) -> str:
    """The input as the SDK records it: the bound arguments with defaults filled in, as canonical JSON."""
    try:
        bound = inspect.signature(func).bind(**inputs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
    except (TypeError, ValueError):
        arguments = dict(inputs)
    return to_json(arguments)


def _with_input(recorded: _Recorded, arguments_json: str) -> dict[str, Any]:
    """The trace with its root's recorded input replaced (a hand-written or perturbed input): the
    tools are still served from the recording, matched by their own arguments."""
    from tracereel import semconv as sc

    spans = list(cast(list[dict[str, Any]], recorded.trace["spans"]))
    for i, span in enumerate(spans):
        attrs = cast(dict[str, Any], span.get("attributes") or {})
        if i == recorded.root_index or attrs.get(sc.TASK_START) in ("true", "True", True, "1"):
            spans[i] = {**span, "attributes": {**attrs, sc.AGENT_INPUT: arguments_json}}
    return {**recorded.trace, "spans": spans}


def _overrides(case: Case, recorded: _Recorded) -> dict[str, Any]:
    """The recorded tool results to replace: planted injections, or a trap's empty values."""
    out: dict[str, Any] = {}
    injection = case.overrides.get(INJECTION_TARGET)
    planted_once = False
    for name, number, result_json in recorded.tools:
        value = json.loads(result_json)
        if case.trap:
            out[f"tool:{name}#{number}"] = empty_like(value)
        elif injection is not None and not planted_once:
            # Into the first tool result that has text (what the agent fetched), not every one: a
            # result the agent hands back verbatim would otherwise "leak" a canary nobody obeyed.
            planted, ok = plant(value, injection)
            if ok:
                out[f"tool:{name}#{number}"] = planted
                planted_once = True
    for key, value in case.overrides.items():
        if key != INJECTION_TARGET:
            out[key] = value
    return out


def _modes(case: Case, options: RunOptions) -> tuple[str, str]:
    # A variant that changes what the model reads (planted text, noisy input, emptied tools) cannot
    # be served the recorded answer, so by default its model runs live; an explicit --llm wins.
    changes_model_input = case.trap or INJECTION_TARGET in case.overrides or (case.variant or "").startswith("perturb:")
    llm = options.llm or ("live" if changes_model_input else "tape")
    return options.tools or "tape", llm


def _replay_case(plan: _Plan, case: Case, options: RunOptions, run: CaseRun) -> None:
    from tracereel.replay import replay

    recorded = plan.recorded
    assert recorded is not None and plan.func is not None
    arguments_json = _bound_input(plan.func, case.input) if case.input else recorded.root_input
    trace = recorded.trace if arguments_json == recorded.root_input else _with_input(recorded, arguments_json)
    tools, llm = _modes(case, options)
    live = [k for k, m in (("tool:*", tools), ("llm:*", llm)) if m == "live"]
    report = replay(
        trace,
        entrypoint=plan.entrypoint,
        live=live,
        overrides=_overrides(case, recorded),
        faults=case.faults,
        # One case at a time: intercept the whole process, so calls from threads the agent starts
        # without its context are served too. Side by side, each case intercepts its own context.
        context_only=options.concurrency > 1,
    )
    run.trace_id = report.replay_trace_id
    if report.status == "cannot_run":
        run.error = f"cannot replay: {report.error}"
        return
    replayed: dict[str, Any] = report.outcome.get("replayed") or {}
    if "output" in replayed:
        run.output = replayed["output"]
    elif "exception" in replayed:
        run.error = f"{replayed['exception']}: {replayed.get('message', '')}"
    elif report.divergence is not None:
        div = report.divergence
        text = f"{report.summary()}: {div.message}"
        if div.diff:
            text += "\n" + div.diff
        run.divergence = text
    else:
        run.error = "the replay ended without an outcome"


class _Scenario:
    """The interceptor of a live case with faults, planted injections or a trap."""

    def __init__(self, case: Case) -> None:
        from tracereel.replay import parse_faults

        self.faults = parse_faults(case.faults)
        self.injection = case.overrides.get(INJECTION_TARGET)
        self.trap = case.trap
        self.planted = False  # like on tape: only the first tool result with text carries the injection

    def _before(self, call: BoundaryCall) -> None:
        fault = self.faults.get((call.kind, call.name)) if call.kind != "agent" else None
        if fault == "timeout":
            raise TimeoutError(f"tracereel: injected timeout ({call.kind}:{call.name}={fault})")
        if fault == "error":
            from tracereel.replay import InjectedFault

            raise InjectedFault(f"tracereel: injected error ({call.kind}:{call.name}={fault})")

    def _after(self, call: BoundaryCall, result: Any) -> Any:
        if call.kind != "tool":
            return result
        if self.trap:
            return empty_like(result) if isinstance(result, str | list | dict) else result
        if self.injection is not None and not self.planted and isinstance(result, str | list | dict):
            planted, self.planted = plant(result, self.injection)
            return planted
        return result

    def intercept(self, call: BoundaryCall, proceed: Callable[[], Any]) -> Any:
        """Raise the injected fault, or run the body and plant into its result."""
        self._before(call)
        return self._after(call, proceed())

    async def intercept_async(self, call: BoundaryCall, proceed: Callable[[], Any]) -> Any:
        """The same for async boundaries."""
        self._before(call)
        return self._after(call, await proceed())


def _live_case(plan: _Plan, case: Case, run: CaseRun) -> None:
    from tracereel.replay import discard_unless_configured

    assert plan.func is not None
    func = plan.func
    discard_unless_configured()
    scenario = case.faults or case.trap or case.overrides
    # A fresh OpenTelemetry context: the case run is a trace of its own, not a child of the caller's span.
    token = otel_context.attach(otel_context.Context())
    try:
        if scenario:
            with hooks.intercepting(_Scenario(case), context_only=True):
                result = _call(func, case.input)
        else:
            result = _call(func, case.input)
        run.output = json.loads(to_json(result))
    except Exception as exc:
        run.error = f"{type(exc).__name__}: {exc}"
    finally:
        otel_context.detach(token)


def _call(func: Callable[..., Any], inputs: dict[str, Any]) -> Any:
    result = func(**inputs)
    if inspect.isawaitable(result):
        awaitable = result

        async def wait() -> Any:
            return await awaitable

        return asyncio.run(wait())
    return result


def run_case(plan: _Plan, options: RunOptions, *, run_id: str, dataset: str) -> CaseRun:
    """Run one (variant) case, capturing its trace's spans."""
    capture.install()
    case = plan.case
    run = CaseRun(case=case)
    marks = capture.Capture(run_id=run_id, dataset=dataset, case_id=case.id, variant=case.variant)
    token = capture.current.set(marks)
    started = time.perf_counter()
    try:
        if plan.recorded is not None:
            _replay_case(plan, case, options, run)
        else:
            _live_case(plan, case, run)
    finally:
        capture.current.reset(token)
        run.seconds = round(time.perf_counter() - started, 4)
        capture.release(marks)
    run.trace_id = run.trace_id or marks.trace_id
    run.spans = sorted(marks.spans, key=lambda s: s.get("start_time_unix_nano", 0))
    return run


def _score(plan: _Plan, run: CaseRun, repeat: int) -> CaseResult:
    scores: dict[str, bool | float] = {}
    reasons: dict[str, str] = {}
    methods: dict[str, str] = {}
    failed: list[str] = []
    passed = True
    error = run.divergence or run.error
    if run.divergence is None and not (run.error or "").startswith("cannot replay"):
        for scorer in plan.scorers:
            score: Score = scorer(run)
            scores[score.name] = score.value
            reasons[score.name] = score.reason
            if score.method:
                methods[score.name] = score.method
            if not score.passed:
                failed.append(score.name)
                passed = False
    if error is not None:
        passed = False
    return CaseResult(
        id=plan.case.id,
        variant=plan.case.variant,
        passed=passed,
        output=run.output,
        scores=scores,
        reasons=reasons,
        error=error,
        trace_id=run.trace_id,
        tags=dict(plan.case.tags),
        methods=methods,
        repeat=repeat,
        failed=failed,
    )


def consistency(results: Sequence[CaseResult]) -> list[dict[str, Any]]:
    """Per case and variant over its repeats: how many runs passed and how often the output was the same."""
    groups: dict[tuple[str, str | None], list[CaseResult]] = {}
    for result in results:
        groups.setdefault((result.id, result.variant), []).append(result)
    out: list[dict[str, Any]] = []
    for (case_id, variant), runs in groups.items():
        outputs = Counter(to_json(r.output) if r.error is None else f"error:{r.error}" for r in runs)
        out.append(
            {
                "id": case_id,
                "variant": variant,
                "runs": len(runs),
                "passed": sum(1 for r in runs if r.passed),
                "distinct_outputs": len(outputs),
                "agreement": round(outputs.most_common(1)[0][1] / len(runs), 4),
            }
        )
    return out


def _progress(total: int) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("eval"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    )


def evaluate(
    dataset: Dataset | str | Path, options: RunOptions | None = None, *, run_id: str | None = None
) -> EvalReport:
    """Run every case of ``dataset`` (and its variants, ``repeat`` times) and return the report,
    without gates (see :mod:`tracereel.evals.report`). :class:`DatasetError` if it cannot run."""
    options = options or RunOptions()
    if not isinstance(dataset, Dataset):
        dataset = load_dataset(dataset)
    if not dataset.cases:
        raise DatasetError(dataset.path, "no cases to run")
    plans = prepare(dataset, options)
    run_id = run_id or uuid.uuid4().hex
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    started = time.perf_counter()
    jobs = [(plan, r) for r in range(options.repeat) for plan in plans]

    def one(job: tuple[_Plan, int]) -> CaseResult:
        plan, repeat = job
        run = run_case(plan, options, run_id=run_id, dataset=dataset.name)
        return _score(plan, run, repeat)

    results: list[CaseResult | None] = [None] * len(jobs)
    bar = _progress(len(jobs)) if options.progress else None
    task = bar.add_task("eval", total=len(jobs)) if bar is not None else None

    def done() -> None:
        if bar is not None:
            bar.advance(task)

    if bar is not None:
        bar.start()
    try:
        if options.concurrency <= 1:
            for i, job in enumerate(jobs):
                # Each case in its own context: its marks and interceptor never leak into the next.
                results[i] = contextvars.copy_context().run(one, job)
                done()
        else:
            with ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="tracereel-eval") as pool:
                futures = [pool.submit(contextvars.copy_context().run, one, job) for job in jobs]
                for i, future in enumerate(futures):
                    results[i] = future.result()
                    done()
    finally:
        if bar is not None:
            bar.stop()
    rows = [r for r in results if r is not None]
    return build_report(
        dataset, rows, options, run_id=run_id, started_at=started_at, seconds=time.perf_counter() - started
    )


def build_report(
    dataset: Dataset,
    rows: Sequence[CaseResult],
    options: RunOptions,
    *,
    run_id: str,
    started_at: str,
    seconds: float,
) -> EvalReport:
    """The report of finished case rows: pass rate, mean score per scorer, consistency with --repeat."""
    total = len(rows)
    passed = sum(1 for r in rows if r.passed)
    sums: dict[str, list[float]] = {}
    for row in rows:
        for name, value in row.scores.items():
            sums.setdefault(name, []).append(float(value))
    return EvalReport(
        run_id=run_id,
        dataset=dataset.name,
        started_at=started_at,
        pass_rate=round(passed / total, 4) if total else 0.0,
        scores={name: round(sum(values) / len(values), 4) for name, values in sums.items()},
        cases=list(rows),
        agent=options.agent or dataset.agent,
        options=options.as_dict(),
        seconds=round(seconds, 3),
        consistency=consistency(rows) if options.repeat > 1 else [],
    )

"""Running one case: replayed from its recording, or live with its input, captured as its own trace."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Callable
from typing import Any, cast

from opentelemetry import context as otel_context

from tracereel.evals import capture
from tracereel.evals.model import Case, CaseRun
from tracereel.evals.options import RunOptions
from tracereel.evals.planning import Plan, Recorded
from tracereel.evals.scenario import Scenario, modes, tape_scenario
from tracereel.sdk import hooks
from tracereel.sdk.hooks import to_json

__all__ = ["run_case"]


def _bound_input(func: Callable[..., Any], inputs: dict[str, Any]) -> str:
    """The input as the SDK records it: the bound arguments with defaults filled in, as canonical JSON."""
    try:
        bound = inspect.signature(func).bind(**inputs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
    except (TypeError, ValueError):
        arguments = dict(inputs)
    return to_json(arguments)


def _with_input(recorded: Recorded, arguments_json: str) -> dict[str, Any]:
    """The trace with its root's recorded input replaced (a hand-written or perturbed input): the
    tools are still served from the recording, matched by their own arguments."""
    from tracereel import semconv as sc

    spans = list(cast(list[dict[str, Any]], recorded.trace["spans"]))
    for i, span in enumerate(spans):
        attrs = cast(dict[str, Any], span.get("attributes") or {})
        if i == recorded.root_index or attrs.get(sc.TASK_START) in ("true", "True", True, "1"):
            spans[i] = {**span, "attributes": {**attrs, sc.AGENT_INPUT: arguments_json}}
    return {**recorded.trace, "spans": spans}


def _replay_case(plan: Plan, case: Case, options: RunOptions, run: CaseRun) -> None:
    from tracereel.replay import replay

    recorded = plan.recorded
    assert recorded is not None and plan.func is not None
    arguments_json = _bound_input(plan.func, case.input) if case.input else recorded.root_input
    trace = recorded.trace if arguments_json == recorded.root_input else _with_input(recorded, arguments_json)
    tools, llm = modes(case, options)
    scenario = tape_scenario(case, recorded, tools)
    if scenario.skipped is not None:
        run.skipped = scenario.skipped
        return
    live = [k for k, m in (("tool:*", tools), ("llm:*", llm)) if m == "live"]
    report = replay(
        trace,
        entrypoint=plan.entrypoint,
        live=live,
        overrides=scenario.overrides,
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
        if (case.variant or "").startswith("perturb:") and "tape" in (tools, llm):
            # A perturbed input changes what the agent asks its tools and model; a recording of the
            # unperturbed run cannot answer the changed calls, so this tells nothing about the agent.
            run.skipped = (
                "the perturbed input changed a call the recording cannot serve, so nothing was tested "
                f"(run with --tools live --llm live to test it): {text}"
            )
            return
        if div.diff:
            text += "\n" + div.diff
        run.divergence = text
    else:
        run.error = "the replay ended without an outcome"


def _live_case(plan: Plan, case: Case, run: CaseRun) -> None:
    from tracereel.replay import discard_unless_configured

    assert plan.func is not None
    func = plan.func
    discard_unless_configured()
    scenario = Scenario(case) if case.faults or case.trap or case.overrides else None
    # A fresh OpenTelemetry context: the case run is a trace of its own, not a child of the caller's span.
    token = otel_context.attach(otel_context.Context())
    try:
        if scenario is not None:
            with hooks.intercepting(scenario, context_only=True):
                result = _call(func, case.input)
        else:
            result = _call(func, case.input)
        run.output = json.loads(to_json(result))
    except Exception as exc:
        run.error = f"{type(exc).__name__}: {exc}"
    finally:
        otel_context.detach(token)
    if scenario is not None:
        run.skipped = scenario.skipped()


def _call(func: Callable[..., Any], inputs: dict[str, Any]) -> Any:
    result = func(**inputs)
    if inspect.isawaitable(result):
        awaitable = result

        async def wait() -> Any:
            return await awaitable

        return asyncio.run(wait())
    return result


def run_case(plan: Plan, options: RunOptions, *, run_id: str, dataset: str) -> CaseRun:
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

"""Running a golden set: every case (and its variants, K times) through the replay engine or live, scored.

A case with a trace is replayed: its tools and model are served from the recording (``tape``)
or run for real (``live``), and a call the tape cannot serve stops the case with the replay's
divergence report as its error. A case without a trace calls the entry point live with its
input. Each case run is its own trace, marked with the eval attributes on its root span (see
:mod:`tracereel.evals.capture`), and scored from its output and its spans.

The steps live in their own modules: :mod:`~tracereel.evals.planning` (checking cases before
anything runs), :mod:`~tracereel.evals.scenario` (faults, injections, traps),
:mod:`~tracereel.evals.execute` (one case run), :mod:`~tracereel.evals.scoring` and
:mod:`~tracereel.evals.progress`; this one runs them all and builds the report.
"""

from __future__ import annotations

import contextvars
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from tracereel.evals.dataset import DatasetError, load_dataset
from tracereel.evals.execute import run_case
from tracereel.evals.model import CaseResult, Dataset, EvalReport
from tracereel.evals.options import MODES, RunOptions
from tracereel.evals.planning import Plan, prepare
from tracereel.evals.progress import progress_bar
from tracereel.evals.scoring import consistency, score_run

__all__ = ["MODES", "RunOptions", "build_report", "consistency", "evaluate", "prepare", "run_case"]


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
    # To the microsecond: two runs started in the same second still sort in the order they ran.
    started_at = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    started = time.perf_counter()
    jobs = [(plan, r) for r in range(options.repeat) for plan in plans]

    def one(job: tuple[Plan, int]) -> CaseResult:
        plan, repeat = job
        run = run_case(plan, options, run_id=run_id, dataset=dataset.name)
        return score_run(plan, run, repeat)

    results: list[CaseResult | None] = [None] * len(jobs)
    bar = progress_bar(len(jobs)) if options.progress else None
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
    """The report of finished case rows: pass rate, mean score per scorer, consistency with --repeat.

    Skipped case runs tested nothing: the pass rate and the means leave them out alike (the
    report's ``counts`` has them), so a mean score never speaks of other runs than the pass rate.
    """
    tested = [r for r in rows if r.status != "skipped"]
    passed = sum(1 for r in tested if r.status == "passed")
    sums: dict[str, list[float]] = {}
    for row in tested:
        for name, value in row.scores.items():
            sums.setdefault(name, []).append(float(value))
    return EvalReport(
        run_id=run_id,
        dataset=dataset.name,
        started_at=started_at,
        pass_rate=round(passed / len(tested), 4) if tested else 0.0,
        scores={name: round(sum(values) / len(values), 4) for name, values in sums.items()},
        cases=list(rows),
        agent=options.agent or dataset.agent,
        options=options.as_dict(),
        seconds=round(seconds, 3),
        consistency=consistency(rows) if options.repeat > 1 else [],
    )

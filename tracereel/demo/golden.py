"""The demo's golden set: cases made from recorded stable-version traces, run for the stable and the canary.

After :func:`~tracereel.demo.runner.run_demo` has sent its traces, :func:`write_golden` picks
a handful of the stable supervisor's traces (``tracereel.demo.agents:supervisor``), varied
by the ``topic`` and ``style`` tags of their task (:func:`tracereel.demo.tasks.tags`), and
turns each into a case with :func:`tracereel.evals.add_case`: the recorded input, the recorded
output as the expected value, the trace exported to ``traces/<trace id>.json`` beside
``golden.yaml``. :func:`run_golden` then evaluates the file twice on replay (tools and LLMs
from the tape), once with each case's recorded entry point and once with the canary
(``tracereel.demo.agents:supervisor_canary``) against the stable run as baseline, and stores
both reports in the collector: the dashboard's Evaluations page shows the dataset with two
runs and the canary's regressions.

The same seed gives the same cases (ids, inputs, expected values, tags) and the same pass
rates; only the trace ids (and so the trace file names) differ from run to run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from tracereel.client import CollectorClient, CollectorError, NotFound
from tracereel.demo.runner import DemoError, DemoResult
from tracereel.demo.tasks import DemoTask, generate, tags

__all__ = ["CANARY", "DATASET", "GOLDEN_FILE", "STABLE", "GoldenRun", "pick_cases", "run_golden", "write_golden"]

DATASET = "demo-golden"
GOLDEN_FILE = "golden.yaml"
STABLE = "tracereel.demo.agents:supervisor"
CANARY = "tracereel.demo.agents:supervisor_canary"
DEFAULT_CASES = 16
_STORE_WAIT_S = 30.0
_HEADER = f"""\
# The demo's golden set, written by `tracereel demo --golden DIR` (see docs/demo.md):
# recorded runs of the stable supervisor ({STABLE}),
# their outputs as the expected values, their traces in traces/. Run it yourself:
#   tracereel eval golden.yaml                                   # the recorded (stable) entry point
#   tracereel eval golden.yaml --agent {CANARY} --baseline latest
name: {DATASET}
scorers: [exact]
cases:
"""

T = TypeVar("T")


@dataclass(frozen=True)
class GoldenRun:
    """One stored evaluation of the demo's golden set."""

    label: str  # "stable" or "canary"
    run_id: str
    pass_rate: float
    cases: int
    regressions: int

    def line(self) -> str:
        """One line for humans."""
        extra = f", {self.regressions} regression(s) vs stable" if self.label == "canary" else ""
        return (
            f"tracereel demo: golden set {DATASET} ({self.label}): pass rate {self.pass_rate:.1%} "
            f"over {self.cases} case(s){extra}, run {self.run_id}"
        )


def _interleave(items: Sequence[T], key: Callable[[T], str]) -> list[T]:
    """``items`` reordered round-robin over their ``key`` values (keys in sorted order, items in order)."""
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    queues = [groups[k] for k in sorted(groups)]
    out: list[T] = []
    while any(queues):
        for queue in queues:
            if queue:
                out.append(queue.pop(0))
    return out


def pick_cases(planned: Iterable[DemoTask], outcomes: Sequence[str], count: int = DEFAULT_CASES) -> list[DemoTask]:
    """Up to ``count`` stable-supervisor tasks that did not crash, as varied as the workload allows:
    round-robin over topics, and within a topic over styles (lowest task index first). In task order."""
    stable = [t for t in planned if t.entrypoint == "supervisor" and outcomes[t.index] != "crashed"]
    by_topic: dict[str, list[DemoTask]] = {}
    for item in stable:
        by_topic.setdefault(tags(item)["topic"], []).append(item)
    queues = [_interleave(by_topic[topic], lambda t: tags(t)["style"]) for topic in sorted(by_topic)]
    chosen: list[DemoTask] = []
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    return sorted(chosen, key=lambda t: t.index)


def _wait_stored(client: CollectorClient, trace_id: str, spans: int, deadline: float) -> None:
    """Wait until the collector serves all ``spans`` spans of ``trace_id`` (it stores in batches)."""
    while True:
        try:
            if len(client.trace(trace_id)["spans"]) >= spans:
                return
        except NotFound:
            pass
        if time.monotonic() > deadline:
            raise DemoError(f"the collector did not store trace {trace_id} within {_STORE_WAIT_S:g}s")
        time.sleep(0.1)


def _clear(directory: Path) -> None:
    """Remove a previous golden set from ``directory``: its file and the trace files it names."""
    file = directory / GOLDEN_FILE
    if not file.exists():
        return
    from tracereel.evals import DatasetError, load_dataset

    try:
        old = load_dataset(file)
    except DatasetError:
        old = None
    for case in old.cases if old else ():
        if case.trace:
            (directory / case.trace).unlink(missing_ok=True)
    file.unlink()


def write_golden(
    result: DemoResult,
    directory: str | Path,
    *,
    count: int = DEFAULT_CASES,
    api_key: str | None = None,
) -> Path:
    """Write ``golden.yaml`` (and ``traces/``) in ``directory`` from the stable traces of ``result``.

    Replaces a golden set written there before (its file and the trace files it names; nothing
    else in the directory is touched). Waits for the collector to store the chosen traces.
    Raises :class:`DemoError` (no stable trace to use, the collector too slow) or
    :class:`tracereel.evals.DatasetError`.
    """
    from tracereel.evals import add_case

    folder = Path(directory).expanduser()
    planned = generate(result.seed, result.tasks)
    chosen = pick_cases(planned, result.outcomes, count)
    if not chosen:
        raise DemoError("no recorded run of the stable supervisor to make a golden set from (run more --tasks)")
    client = CollectorClient(result.endpoint, api_key=api_key)
    deadline = time.monotonic() + _STORE_WAIT_S
    for item in chosen:
        _wait_stored(client, result.trace_ids[item.index], result.span_counts[item.index], deadline)
    folder.mkdir(parents=True, exist_ok=True)
    _clear(folder)
    file = folder / GOLDEN_FILE
    file.write_text(_HEADER, encoding="utf-8")
    for item in chosen:
        labels = tags(item)
        add_case(
            file,
            result.trace_ids[item.index],
            tags=labels,
            case_id=f"{labels['topic'].replace('_', '-')}-{item.index:04d}",
            client=client,
        )
    return file


def run_golden(file: str | Path, endpoint: str, *, api_key: str | None = None) -> list[GoldenRun]:
    """Evaluate ``file`` on replay with the recorded entry points (stable), then with the canary
    against that run as baseline; store both reports (and the case runs' traces) in the collector
    at ``endpoint``. Reconfigures the SDK while it runs and shuts it down at the end."""
    import tracereel
    from tracereel.evals import RunOptions, apply_gates, evaluate, load_dataset

    client = CollectorClient(endpoint, api_key=api_key)
    dataset = load_dataset(file)
    runs: list[GoldenRun] = []
    # The case runs are traces too: the Evaluations page links each case to its own.
    tracereel.configure(service_name="tracereel-eval", endpoint=endpoint, api_key=api_key, schedule_delay_millis=200)
    try:
        stable = evaluate(dataset, RunOptions(llm="tape", tools="tape"))
        apply_gates(stable)
        canary = evaluate(dataset, RunOptions(agent=CANARY, llm="tape", tools="tape"))
        apply_gates(canary, baseline=stable)
    finally:
        tracereel.flush()
        tracereel.shutdown()
    for label, report in (("stable", stable), ("canary", canary)):
        try:
            client.upload_eval_run(report)
        except CollectorError as exc:
            raise DemoError(f"the collector did not store the {label} eval run: {exc}") from None
        runs.append(GoldenRun(label, report.run_id, report.pass_rate, len(report.cases), len(report.regressions)))
    return runs

"""The Python API for pytest: ``tracereel.evals.run("golden.yaml", llm="tape").gate.passed``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tracereel.evals.model import EvalReport
from tracereel.evals.report import apply_gates, fetch_baseline, write_junit
from tracereel.evals.runner import RunOptions, evaluate

__all__ = ["run"]


def run(
    path: str | Path,
    *,
    min_pass_rate: float = 1.0,
    min_scores: Mapping[str, float] | None = None,
    baseline: str | None = None,
    max_regression: float = 0.0,
    junit: str | Path | None = None,
    upload: bool = False,
    collector: str | None = None,
    **options: Any,
) -> EvalReport:
    """Run the dataset at ``path`` and gate it, like ``tracereel eval`` (without printing or exiting).

    ``options`` are :class:`~tracereel.evals.runner.RunOptions` fields (``agent``, ``tools``,
    ``llm``, ``repeat``, ``concurrency``, ``faults``, ``perturb``, ``attack``, ``seed``).
    ``baseline`` (``latest`` or a run id) and ``upload`` talk to ``collector`` through
    :class:`tracereel.client.CollectorClient`. Raises
    :class:`~tracereel.evals.dataset.DatasetError` when the dataset cannot run.

        def test_golden_set():
            report = tracereel.evals.run("tests/golden.yaml")
            assert report.gate.passed, report.gate.reasons
    """
    for key in ("faults", "perturb"):
        if isinstance(options.get(key), str):
            options[key] = (options[key],)
        elif key in options:
            options[key] = tuple(options[key])
    report = evaluate(path, RunOptions(**options))
    stored = None
    client: Any = None
    if baseline is not None or upload:
        from tracereel.client import CollectorClient

        client = CollectorClient(collector)
    if baseline is not None:
        stored = fetch_baseline(client, report.dataset, baseline)
    apply_gates(
        report, min_pass_rate=min_pass_rate, min_scores=min_scores, baseline=stored, max_regression=max_regression
    )
    if junit is not None:
        write_junit(report, junit)
    if upload:
        client.upload_eval_run(report.to_dict())
    return report

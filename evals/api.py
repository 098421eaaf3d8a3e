"""Running a golden set end to end, the one way ``tracereel eval`` and Python callers both use.

``tracereel.evals.run("golden.yaml", llm="tape").gate.passed`` in a pytest test; the CLI
parses its options, calls :func:`run` and prints the report.

One failure policy: what stops the run before a case runs (a dataset that cannot run, a
baseline that cannot be fetched) raises; storing the finished report is best effort (a
collector that is down or refuses it is a warning, the report and its gate stand).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tracereel.evals.dataset import load_dataset
from tracereel.evals.model import EvalReport
from tracereel.evals.options import RunOptions
from tracereel.evals.report import apply_gates, fetch_baseline, write_junit
from tracereel.evals.runner import evaluate

__all__ = ["run"]


def _warn(text: str) -> None:
    warnings.warn(text, RuntimeWarning, stacklevel=3)


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
    configure_sdk: bool = False,
    warn: Callable[[str], None] = _warn,
    **options: Any,
) -> EvalReport:
    """Run the dataset at ``path``, gate it, and (with ``upload``) store it: what ``tracereel eval`` does
    without printing or exiting.

    ``options`` are :class:`~tracereel.evals.options.RunOptions` fields (``agent``, ``tools``,
    ``llm``, ``repeat``, ``concurrency``, ``faults``, ``perturb``, ``attack``, ``attack_corpus``,
    ``seed``, ``progress``). ``baseline`` (``latest`` or a run id) and ``upload`` talk to
    ``collector`` through :class:`tracereel.client.CollectorClient`. ``configure_sdk`` sets up
    the SDK for the case runs' traces: sent to the collector with the report, or dropped when
    the report is not stored. Raises :class:`~tracereel.evals.dataset.DatasetError` when the
    dataset cannot run and :class:`~tracereel.evals.report.BaselineError` when the baseline
    cannot be fetched; ``warn`` is told when the report is not stored.

        def test_golden_set():
            report = tracereel.evals.run("tests/golden.yaml")
            assert report.gate.passed, report.gate.reasons
    """
    for key in ("faults", "perturb"):
        if isinstance(options.get(key), str):
            options[key] = (options[key],)
        elif key in options:
            options[key] = tuple(options[key])
    run_options = RunOptions(**options)
    dataset = load_dataset(path)
    client = None
    if baseline is not None or upload:
        from tracereel.client import CollectorClient

        client = CollectorClient(collector)
    stored = fetch_baseline(client, dataset.name, baseline) if client is not None and baseline is not None else None
    if client is not None and upload:
        from tracereel.client import CollectorError

        try:
            client.health()
        except CollectorError as exc:
            warn(f"the run is not stored: {exc}")
            upload = False
    if configure_sdk:
        _configure_sdk(client.base_url if client is not None and upload else None)
    try:
        report = evaluate(dataset, run_options)
    finally:
        if configure_sdk:
            import tracereel

            tracereel.flush()
    apply_gates(
        report, min_pass_rate=min_pass_rate, min_scores=min_scores, baseline=stored, max_regression=max_regression
    )
    if junit is not None:
        write_junit(report, junit)
    if client is not None and upload:
        from tracereel.client import CollectorError

        try:
            client.upload_eval_run(report)
        except CollectorError as exc:
            warn(f"the run is not stored: {exc}")
    return report


def _configure_sdk(endpoint: str | None) -> None:
    """Case runs are traces: into the collector with the report (``endpoint``), or nowhere."""
    import tracereel
    from tracereel.replay import DiscardExporter

    if endpoint is not None:
        tracereel.configure(service_name="tracereel-eval", endpoint=endpoint, schedule_delay_millis=200)
    else:
        tracereel.configure(exporter=DiscardExporter())

"""The CI gate on a report: pass rate, mean scores, the baseline run and its regressions; JUnit XML (skipped
case runs as ``<skipped>``).

Exit codes (DESIGN.md): 0 every gate passed, 1 a gate failed, 2 cannot run.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tracereel.contracts.evals import BaselineRef, CaseCounts
from tracereel.evals.compare import compare_runs
from tracereel.evals.model import EvalReport, GateResult

if TYPE_CHECKING:
    from tracereel.client import CollectorClient

__all__ = ["BaselineError", "apply_gates", "fetch_baseline", "parse_min_scores", "write_junit"]


class BaselineError(RuntimeError):
    """The baseline run cannot be fetched (none stored, unknown id, collector unreachable): cannot run."""


def parse_min_scores(texts: list[str] | tuple[str, ...]) -> dict[str, float]:
    """``NAME=X`` options as {name: minimum mean score}; ValueError naming a bad one."""
    out: dict[str, float] = {}
    for text in texts:
        name, sep, raw = text.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            out[name.strip()] = float(raw)
        except ValueError:
            raise ValueError(f"--min-score {text!r}: expected NAME=NUMBER, e.g. exact=0.9") from None
    return out


def fetch_baseline(client: CollectorClient, dataset: str, which: str) -> EvalReport:
    """The stored report ``which`` names: ``latest`` (the dataset's newest run) or a run id."""
    from tracereel.client import CollectorError

    try:
        if which == "latest":
            runs = client.eval_runs(dataset=dataset, limit=1)
            if not runs:
                raise BaselineError(f"no stored eval run of dataset {dataset!r} to compare with")
            which = runs[0].run_id
        return client.eval_run(which)
    except CollectorError as exc:
        raise BaselineError(f"cannot fetch the baseline run {which}: {exc}") from None


def apply_gates(
    report: EvalReport,
    *,
    min_pass_rate: float = 1.0,
    min_scores: Mapping[str, float] | None = None,
    baseline: EvalReport | None = None,
    max_regression: float = 0.0,
) -> GateResult:
    """Decide the gate and record it (with the baseline, its regressions and fixes) on ``report``.

    Regressions and fixes are :func:`tracereel.evals.compare.compare_runs` from the baseline
    (older) to this run. A run whose every case run was skipped tested nothing, and fails.
    """
    reasons: list[str] = []
    counts = report.counts or CaseCounts.of(report.cases)
    if counts.total and counts.skipped == counts.total:
        reasons.append(f"nothing was tested: all {counts.total} case run(s) were skipped")
    elif report.pass_rate + 1e-9 < min_pass_rate:
        reasons.append(f"pass rate {report.pass_rate:.1%} < {min_pass_rate:.1%} ({counts.failed} case run(s) failed)")
    for name, minimum in (min_scores or {}).items():
        if name not in report.scores:
            reasons.append(f"no scorer {name!r} in this run (scores: {', '.join(report.scores) or 'none'})")
        elif report.scores[name] + 1e-9 < minimum:
            reasons.append(f"mean {name} {report.scores[name]:.3f} < {minimum:g}")
    if baseline is not None:
        report.baseline = BaselineRef(
            run_id=baseline.run_id,
            dataset=baseline.dataset,
            started_at=baseline.started_at,
            pass_rate=baseline.pass_rate,
            scores=dict(baseline.scores),
            agent=baseline.agent,
        )
        changes = compare_runs(baseline, report)
        report.regressions = [c.label for c in changes if c.change == "regression"]
        report.fixes = [c.label for c in changes if c.change == "fix"]
        drop = baseline.pass_rate - report.pass_rate
        if drop > max_regression + 1e-9:
            reasons.append(
                f"pass rate fell {drop:.1%} from baseline {baseline.run_id} "
                f"(max {max_regression:.1%}); regressions: {', '.join(report.regressions) or 'none'}"
            )
    report.gate = GateResult(passed=not reasons, reasons=reasons)
    return report.gate


def write_junit(report: EvalReport, path: str | Path) -> Path:
    """JUnit XML: one testsuite for the run, a testcase per case run (failures carry the reasons)."""
    failures = sum(1 for c in report.cases if c.status == "failed" and c.error is None)
    errors = sum(1 for c in report.cases if c.status == "failed" and c.error is not None)
    skipped = sum(1 for c in report.cases if c.status == "skipped")
    suite = ET.Element(
        "testsuite",
        {
            "name": report.dataset,
            "tests": str(len(report.cases)),
            "failures": str(failures),
            "errors": str(errors),
            "skipped": str(skipped),
            "time": f"{report.seconds:.3f}",
            "timestamp": report.started_at,
        },
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (("run_id", report.run_id), ("pass_rate", report.pass_rate), ("gate", report.gate.passed)):
        ET.SubElement(properties, "property", {"name": name, "value": str(value)})
    for case in report.cases:
        name = case.id if case.variant is None else f"{case.id} [{case.variant}]"
        if case.repeat:
            name += f" #{case.repeat + 1}"
        element = ET.SubElement(suite, "testcase", {"classname": report.dataset, "name": name})
        if case.status == "skipped":
            ET.SubElement(element, "skipped", {"message": (case.skip_reason or "skipped").splitlines()[0]})
        elif case.error is not None:
            first = case.error.splitlines()[0] if case.error else "error"
            error = ET.SubElement(element, "error", {"message": first})
            error.text = case.error
        elif not case.passed:
            message = "; ".join(f"{n}: {case.reasons.get(n, '')}" for n in case.failed) or "failed"
            failure = ET.SubElement(element, "failure", {"message": message.splitlines()[0]})
            failure.text = message
        out = ET.SubElement(element, "system-out")
        out.text = f"scores: {case.scores}\ntrace: {case.trace_id}"
    root = ET.Element("testsuites", {"name": "tracereel eval", "tests": str(len(report.cases))})
    root.append(suite)
    ET.indent(root)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)
    return target

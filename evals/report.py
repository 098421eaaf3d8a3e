"""The CI gate on a report: pass rate, mean scores, the baseline run and its regressions; JUnit XML.

Exit codes (DESIGN.md): 0 every gate passed, 1 a gate failed, 2 cannot run.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from tracereel.evals.model import EvalReport, GateResult

__all__ = ["BaselineError", "apply_gates", "fetch_baseline", "parse_min_scores", "regressions", "write_junit"]


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


def fetch_baseline(client: Any, dataset: str, which: str) -> dict[str, Any]:
    """The stored report ``which`` names: ``latest`` (the dataset's newest run) or a run id."""
    from tracereel.client import CollectorError

    try:
        if which == "latest":
            runs = client.eval_runs(dataset=dataset, limit=1)
            if not runs:
                raise BaselineError(f"no stored eval run of dataset {dataset!r} to compare with")
            which = str(runs[0]["run_id"])
        return cast(dict[str, Any], client.eval_run(which))
    except CollectorError as exc:
        raise BaselineError(f"cannot fetch the baseline run {which}: {exc}") from None


def _key(case: Mapping[str, Any]) -> tuple[str, str | None]:
    return str(case.get("id")), cast(str | None, case.get("variant"))


def _label(key: tuple[str, str | None]) -> str:
    return key[0] if key[1] is None else f"{key[0]} [{key[1]}]"


def regressions(report: EvalReport, baseline: Mapping[str, Any]) -> list[str]:
    """Case ids (with their variant) that passed in ``baseline`` and fail now (any repeat)."""
    before: dict[tuple[str, str | None], bool] = {}
    for case in cast(list[dict[str, Any]], baseline.get("cases") or []):
        key = _key(case)
        before[key] = before.get(key, True) and bool(case.get("passed"))
    now: dict[tuple[str, str | None], bool] = {}
    for row in report.cases:
        key = (row.id, row.variant)
        now[key] = now.get(key, True) and row.passed
    return [_label(k) for k, ok in now.items() if not ok and before.get(k)]


def apply_gates(
    report: EvalReport,
    *,
    min_pass_rate: float = 1.0,
    min_scores: Mapping[str, float] | None = None,
    baseline: Mapping[str, Any] | None = None,
    max_regression: float = 0.0,
) -> GateResult:
    """Decide the gate and record it (with the baseline and regressions) on ``report``."""
    reasons: list[str] = []
    if report.pass_rate + 1e-9 < min_pass_rate:
        failed = sum(1 for c in report.cases if not c.passed)
        reasons.append(f"pass rate {report.pass_rate:.1%} < {min_pass_rate:.1%} ({failed} case run(s) failed)")
    for name, minimum in (min_scores or {}).items():
        if name not in report.scores:
            reasons.append(f"no scorer {name!r} in this run (scores: {', '.join(report.scores) or 'none'})")
        elif report.scores[name] + 1e-9 < minimum:
            reasons.append(f"mean {name} {report.scores[name]:.3f} < {minimum:g}")
    if baseline is not None:
        report.baseline = {
            k: baseline.get(k) for k in ("run_id", "dataset", "started_at", "pass_rate", "scores", "agent")
        }
        report.regressions = regressions(report, baseline)
        drop = float(baseline.get("pass_rate") or 0.0) - report.pass_rate
        if drop > max_regression + 1e-9:
            reasons.append(
                f"pass rate fell {drop:.1%} from baseline {baseline.get('run_id')} "
                f"(max {max_regression:.1%}); regressions: {', '.join(report.regressions) or 'none'}"
            )
    report.gate = GateResult(not reasons, reasons)
    return report.gate


def write_junit(report: EvalReport, path: str | Path) -> Path:
    """JUnit XML: one testsuite for the run, a testcase per case run (failures carry the reasons)."""
    failures = sum(1 for c in report.cases if not c.passed and c.error is None)
    errors = sum(1 for c in report.cases if c.error is not None)
    suite = ET.Element(
        "testsuite",
        {
            "name": report.dataset,
            "tests": str(len(report.cases)),
            "failures": str(failures),
            "errors": str(errors),
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
        if case.error is not None:
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

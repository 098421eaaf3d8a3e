"""Variants that could not apply are skipped with the reason, never passed; the pass rate and the
mean scores count the same tested case runs; the JSON report gives each case its status."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import yaml
from eval_support import cli, golden_from_recording

from tracereel.contracts.evals import CaseResult, EvalReport
from tracereel.evals import apply_gates, run
from tracereel.evals.scenario import NO_TEXT_TO_PLANT
from tracereel.evals.variants import load_corpus


def _totals_golden(path: Path, recorder: Any, agents: Any) -> None:
    trace_id = recorder.record("totals", agents.totals, ticket="what did order B2 cost?")
    added = cli("dataset", "add", str(path), trace_id, "--id", "total", "--collector", recorder.url)
    assert added.exit_code == 0, added.output


def test_an_injection_with_no_text_to_plant_in_is_skipped_and_left_out_of_the_pass_rate(
    tmp_path: Path, recorder, agents
) -> None:
    golden = tmp_path / "golden.yaml"
    _totals_golden(golden, recorder, agents)  # its only tool answers a number
    junit = tmp_path / "results.xml"
    result = cli("eval", str(golden), "--json", "--no-upload", "--attack", "prompt-injection", "--junit", str(junit))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    corpus = len(load_corpus())
    statuses = [(c["variant"] is None, c["status"]) for c in report["cases"]]
    assert statuses == [(True, "passed")] + [(False, "skipped")] * corpus
    variant = report["cases"][1]
    assert variant["skip_reason"] == NO_TEXT_TO_PLANT and variant["passed"] is False and variant["scores"] == {}
    assert report["counts"] == {"total": corpus + 1, "passed": 1, "failed": 0, "skipped": corpus}
    assert report["pass_rate"] == 1.0 and report["scores"] == {"exact": 1.0}
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("skipped") == str(corpus)
    skipped = [c.find("skipped") for c in suite.iter("testcase")]
    assert skipped[0] is None and all(s is not None and s.get("message") == NO_TEXT_TO_PLANT for s in skipped[1:])

    text = cli("eval", str(golden), "--no-upload", "--attack", "prompt-injection").stdout
    assert f"pass rate 100.0% over 1 tested run(s), {corpus} skipped (not in the pass rate)" in text
    assert f"SKIP total [prompt-injection:1]: {NO_TEXT_TO_PLANT}" in text


def test_a_live_case_whose_tools_gave_nothing_to_plant_into_or_to_break_is_skipped(tmp_path: Path) -> None:
    golden = tmp_path / "live.yaml"
    golden.write_text("agent: eval_agents:echo\ncases:\n  - {id: a, input: {text: x}, expected: X}\n")
    report = run(golden, attack="prompt-injection", faults=("tool:lookup_order=timeout",))
    assert report.cases[0].status == "passed"
    by_variant = {c.variant: c for c in report.cases[1:]}
    assert by_variant["fault:tool:lookup_order=timeout"].status == "skipped"
    assert by_variant["fault:tool:lookup_order=timeout"].skip_reason == (
        "tool:lookup_order is never called: the fault could not apply"
    )
    assert {c.skip_reason for v, c in by_variant.items() if v and v.startswith("prompt-injection")} == {
        NO_TEXT_TO_PLANT
    }
    assert report.pass_rate == 1.0 and report.gate.passed


def test_a_fault_on_a_tool_the_recording_never_calls_is_skipped(tmp_path: Path, recorder, agents) -> None:
    golden = tmp_path / "golden.yaml"
    golden_from_recording(golden, recorder, agents, id="lost")
    report = run(golden, faults=("tool:send_email=error", "tool:lookup_order=timeout"), min_pass_rate=0)
    assert [(c.variant, c.status) for c in report.cases] == [
        (None, "passed"),
        ("fault:tool:send_email=error", "skipped"),
        ("fault:tool:lookup_order=timeout", "failed"),  # applied: the agent escalates, exact fails
    ]
    assert report.cases[1].skip_reason == "tool:send_email is never called: the fault could not apply"
    assert report.pass_rate == 0.5 and report.scores == {"exact": 0.5}


def test_a_perturbed_input_the_recording_cannot_serve_is_skipped_and_runs_when_the_model_is_live(
    tmp_path: Path, recorder, agents
) -> None:
    golden = tmp_path / "golden.yaml"
    golden_from_recording(golden, recorder, agents, id="lost")
    # The model from the tape: the perturbed ticket changes its prompt, which the recording cannot answer.
    taped = run(golden, perturb=("typos",), llm="tape")
    base, variant = taped.cases
    assert (base.status, variant.variant, variant.status) == ("passed", "perturb:typos", "skipped")
    assert variant.skip_reason is not None
    assert variant.skip_reason.startswith("the perturbed input changed a call the recording cannot serve")
    assert "--tools live --llm live" in variant.skip_reason and "diverged" in variant.skip_reason
    assert taped.pass_rate == 1.0 and taped.scores == {"exact": 1.0} and taped.gate.passed
    # Typos in the order id too: the tools from the tape cannot answer either.
    tools_taped = run(golden, perturb=("typos",))
    assert tools_taped.cases[1].status == "skipped", tools_taped.cases[1]
    assert "tool:lookup_order" in (tools_taped.cases[1].skip_reason or "")
    # Tools and model live: the variant is tested, and passes.
    live = run(golden, perturb=("typos",), tools="live")
    assert [c.status for c in live.cases] == ["passed", "passed"], live.cases[1]


def test_a_diverged_case_fails_every_scorer_so_the_means_agree_with_the_pass_rate(
    tmp_path: Path, recorder, agents
) -> None:
    golden = tmp_path / "golden.yaml"
    golden_from_recording(golden, recorder, agents, id="lost")
    golden_from_recording(golden, recorder, agents, id="moved")
    data = yaml.safe_load(golden.read_text())
    data["cases"][1]["input"]["order_id"] = "Z1"  # a call the recording does not have: it diverges
    data["cases"][1]["scorers"] = ["exact", {"contains": "refunded"}]
    golden.write_text(yaml.safe_dump(data))
    report = run(golden, min_pass_rate=0)
    lost, moved = report.cases
    assert lost.status == "passed" and moved.status == "failed" and moved.error and "diverged" in moved.error
    assert moved.scores == {"exact": False, "contains": False}
    assert moved.reasons["exact"] == "not scored: the run diverged from its recording"
    assert moved.failed == ["exact", "contains"]
    assert report.pass_rate == 0.5 and report.scores["exact"] == 0.5 and report.scores["contains"] == 0.0


def test_a_run_that_tested_nothing_fails_its_gate_and_old_reports_derive_their_status() -> None:
    skipped = CaseResult(id="a", variant="prompt-injection:1", status="skipped", passed=False, skip_reason="x")
    report = EvalReport(run_id="r", dataset="d", started_at="2025-05-01T10:00:00Z", pass_rate=0.0, cases=[skipped])
    gate = apply_gates(report)
    assert not gate.passed and gate.reasons == ["nothing was tested: all 1 case run(s) were skipped"]
    old = EvalReport.model_validate(
        {
            "run_id": "old",
            "dataset": "d",
            "started_at": "2025-05-01T10:00:00+00:00",
            "pass_rate": 0.5,
            "cases": [{"id": "a", "passed": True}, {"id": "b", "passed": False}],
        }
    )
    assert [c.status for c in old.cases] == ["passed", "failed"]
    assert old.counts is not None and (old.counts.passed, old.counts.failed, old.counts.skipped) == (1, 1, 0)

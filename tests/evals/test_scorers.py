"""Every scorer: on outputs, and on the calls of real case runs (replayed from a real recording)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from eval_support import golden_from_recording

from tracereel.evals import Case, CaseRun, run
from tracereel.evals.scorers import UnknownScorer, resolve


def score(spec, output, expected=None, canary=None):
    return resolve(spec)(CaseRun(case=Case(id="c", input={}, expected=expected, canary=canary), output=output))


@pytest.mark.parametrize(
    ("spec", "output", "expected", "passed"),
    [
        ("exact", {"a": 1}, {"a": 1}, True),
        ("exact", "1", 1, False),
        ("contains", "refunded 40 EUR", "40 EUR", True),
        ({"contains": ["refunded", "EUR"]}, "refunded 40 EUR", None, True),
        ({"contains": {"text": "eur", "ignore_case": True}}, "40 EUR", None, True),
        ({"contains": "USD"}, "40 EUR", None, False),
        ({"regex": r"\d+ EUR$"}, "refunded 40 EUR", None, True),
        ({"regex": r"^EUR"}, "refunded 40 EUR", None, False),
        ("json_match", {"a": 1, "b": {"c": 2}, "extra": 0}, {"a": 1, "b": {"c": 2}}, True),
        ({"json_match": {"threshold": 1.0}}, '{"a": 1, "b": 3}', {"a": 1, "b": 2}, False),
        ("json_match", '{"a": 1, "b": 3}', {"a": 1, "b": 2}, True),  # 0.5 >= the default threshold
        ({"numeric": {"tolerance": 0.01}}, "total: 40.004 EUR", 40, True),
        ({"numeric": 0.01}, 40.02, 40, False),
        ({"numeric": {"tolerance": 0.1, "relative": True}}, 43, 40, True),
        ({"numeric": {"path": "total"}}, {"total": 40}, "40", True),
        ("abstains", "Sorry, I don't know what happened.", None, True),
        ("abstains", "It was refunded.", None, False),
        ({"abstains": ["keine ahnung"]}, "Keine Ahnung", None, True),
        ("no_canary", "all good", None, True),
        ("tests.evals.eval_agents:starts_with_refund", "refunded 40 EUR", None, True),
        ({"eval_agents:starts_with_refund": {"prefix": "no"}}, "refunded", None, False),
    ],
)
def test_output_scorers(spec, output, expected, passed) -> None:
    result = score(spec, output, expected)
    assert result.passed is passed, result.reason


def test_graded_scores_keep_their_value_and_reason() -> None:
    result = score("json_match", {"a": 1, "b": 3}, {"a": 1, "b": 2})
    assert (result.value, result.reason) == (0.5, "1/2 field(s) differ: b")


def test_no_canary_catches_the_token_in_the_output() -> None:
    result = score("no_canary", "sure: CANARY-ABC", canary="CANARY-ABC")
    assert not result.passed and result.reason == "the canary CANARY-ABC is in the output"


def test_unknown_scorers_and_options_are_refused_at_load() -> None:
    for spec, message in [
        ("nope", "unknown scorer 'nope'"),
        ({"tool_called": None}, "scorer 'tool_called' needs option 'name'"),
        ({"regex": "("}, "scorer 'regex': bad pattern"),
        ("no_module_here:func", "unknown scorer 'no_module_here:func': cannot import no_module_here"),
        ({"a": 1, "b": 2}, "expected a name or a mapping of one name"),
    ]:
        with pytest.raises(UnknownScorer, match=message.replace("(", r"\(")):
            resolve(spec)


def test_the_judges_resolve_lazily_to_their_package() -> None:
    # tracereel.evals.judge is built separately; until it exists the name fails clearly, never silently.
    try:
        import tracereel.evals.judge  # noqa: F401
    except ImportError:
        with pytest.raises(
            UnknownScorer, match=re.escape("unknown scorer 'llm_judge': cannot import tracereel.evals.judge")
        ):
            resolve("llm_judge")
    else:
        assert resolve("llm_judge").name == "llm_judge"


def test_call_scorers_read_the_case_runs_own_spans(tmp_path: Path, recorder, agents) -> None:
    golden = tmp_path / "golden.yaml"
    golden_from_recording(golden, recorder, agents)
    text = golden.read_text().replace(
        "name: golden\n",
        "name: golden\nscorers:\n"
        + "".join(
            f"  - {line}\n"
            for line in [
                "exact",
                "{tool_called: lookup_order}",
                "{tool_called: {name: refund, times: 1}}",
                "{tool_not_called: send_email}",
                "{tool_sequence: [lookup_order, refund]}",
                "{max_steps: 3}",
                "{escalated: false}",
                "{regex: refunded}",
            ]
        ),
    )
    golden.write_text(text)
    report = run(golden)
    (case,) = report.cases
    assert case.passed, case.reasons
    assert set(case.scores) == {
        "exact",
        "tool_called",
        "tool_called#2",
        "tool_not_called",
        "tool_sequence",
        "max_steps",
        "escalated",
        "regex",
    }
    assert case.reasons["tool_sequence"] == "tools called: lookup_order > refund; wanted lookup_order > refund"
    assert case.reasons["max_steps"] == "3 tool/LLM call(s), limit 3"

    strict = (
        golden.read_text()
        .replace("{max_steps: 3}", "{max_steps: 2}")
        .replace("{tool_not_called: send_email}", "{tool_not_called: refund}")
    )
    golden.write_text(strict)
    (case,) = run(golden, min_pass_rate=0).cases
    assert not case.passed and case.failed == ["tool_not_called", "max_steps"]


def test_a_fault_scenario_is_scored_by_escalated(tmp_path: Path, recorder, agents) -> None:
    golden = tmp_path / "golden.yaml"
    golden_from_recording(golden, recorder, agents)
    text = golden.read_text()
    text = text.replace(
        "    trace:",
        "    faults: {'tool:lookup_order': timeout}\n"
        "    scorers: [escalated, {contains: escalated}, {tool_not_called: refund}]\n"
        "    trace:",
    )
    golden.write_text(text)
    (case,) = run(golden).cases
    assert case.passed, (case.reasons, case.error)
    assert case.reasons["escalated"] == "escalated (the order system timed out)"
    assert case.output == "escalated to a human"

"""The judges through `tracereel eval`: a configured judge scores, a missing one falls back by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_support import cli

from tests.fake_openai import FakeOpenAI

GOLDEN = """\
agent: eval_agents:echo
scorers: [{llm_judge: {rubric: "Same refund amount as expected?"}}]
cases:
  - {id: same, input: {text: refunded 40 eur}, expected: REFUNDED 40 EUR}
  - {id: other, input: {text: refunded 90 eur}, expected: REFUNDED 40 EUR}
"""


def _verdict(request: dict) -> str:
    prompt = json.dumps(request["messages"])
    same = "REFUNDED 90 EUR" not in prompt
    return json.dumps({"score": 1.0 if same else 0.0, "reason": "amounts match" if same else "90 is not 40"})


def test_a_configured_judge_scores_each_case_and_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    golden = tmp_path / "judged.yaml"
    golden.write_text(GOLDEN)
    with FakeOpenAI(_verdict) as judge:
        monkeypatch.setenv("TRACEREEL_JUDGE_URL", judge.base_url)
        monkeypatch.setenv("TRACEREEL_JUDGE_MODEL", "judge-test")
        result = cli("eval", str(golden), "--json", "--no-upload", "--min-pass-rate", "0.5")
        asked = len(judge.requests)
    assert result.exit_code == 0, result.output
    cases = {c["id"]: c for c in json.loads(result.stdout)["cases"]}
    assert (cases["same"]["passed"], cases["other"]["passed"]) == (True, False)
    assert cases["other"]["reasons"]["llm_judge"] == "90 is not 40"
    assert {c["methods"]["llm_judge"] for c in cases.values()} == {"judge:judge-test"}
    assert asked == 2


def test_without_a_judge_the_fallback_scores_and_says_so(tmp_path: Path) -> None:
    golden = tmp_path / "judged.yaml"
    golden.write_text(GOLDEN)
    result = cli("eval", str(golden), "--json", "--no-upload", "--min-pass-rate", "0")
    assert result.exit_code == 0, result.output
    cases = {c["id"]: c for c in json.loads(result.stdout)["cases"]}
    assert {c["methods"]["llm_judge"] for c in cases.values()} == {"fallback:token-overlap"}
    assert cases["same"]["passed"] and not cases["other"]["passed"]  # a wrong number scores 0


def test_a_bad_judge_setting_cannot_run_and_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    golden = tmp_path / "judged.yaml"
    golden.write_text(GOLDEN)
    monkeypatch.setenv("TRACEREEL_JUDGE_MODEL", "judge-test")
    monkeypatch.setenv("TRACEREEL_JUDGE_TIMEOUT", "soon")
    result = cli("eval", str(golden), "--no-upload")
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "TRACEREEL_JUDGE_TIMEOUT='soon' is not valid" in line

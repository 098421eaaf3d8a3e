"""Bad input gets one clear line and exit 2, naming the file and the case."""

from __future__ import annotations

from pathlib import Path

import pytest
from eval_support import cli

CASES = {
    "malformed": ("cases:\n  - id: a\n    input: {text: [unclosed\n", "line 4: malformed YAML (expected ',' or ']'"),
    "duplicate": (
        "agent: eval_agents:echo\ncases:\n  - id: a\n    input: {text: x}\n  - id: a\n    input: {text: y}\n",
        "case 'a': duplicate case id (first at line 3)",
    ),
    "unknown scorer": (
        "agent: eval_agents:echo\ncases:\n  - id: b\n    input: {text: x}\n    scorers: [exactt]\n",
        "case 'b': unknown scorer 'exactt'",
    ),
    "scorer option": (
        "agent: eval_agents:echo\ncases:\n  - id: c\n    input: {text: x}\n    scorers: [{numeric: {tolrance: 1}}]\n",
        "case 'c': scorer 'numeric' has no option 'tolrance'",
    ),
    "missing trace": (
        "cases:\n  - id: d\n    input: {text: x}\n    trace: traces/nope.json\n",
        "case 'd': trace file traces/nope.json is missing",
    ),
    "entry point": (
        "agent: no_such_module:handle\ncases:\n  - id: e\n    input: {text: x}\n",
        "case 'e': entry point no_such_module:handle cannot be imported",
    ),
    "bad fault": (
        "agent: eval_agents:echo\ncases:\n  - id: f\n    input: {text: x}\n    faults: {'tool:x': explode}\n",
        "case 'f': fault tool:x='explode': expected timeout or error",
    ),
    "no entry point": ("cases:\n  - id: g\n    input: {text: x}\n", "case 'g': no trace and no entry point"),
    "expected_from": (
        "agent: eval_agents:echo\ncases:\n  - id: h\n    input: {text: x}\n    expected_from: eval_agents:nope\n",
        "case 'h': entry point eval_agents:nope cannot be imported",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_dataset_is_one_line_and_exit_2(tmp_path: Path, name: str) -> None:
    text, message = CASES[name]
    golden = tmp_path / "golden.yaml"
    golden.write_text(text)
    result = cli("eval", str(golden), "--no-upload")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"Error: {golden}: "), lines[0]
    assert message in lines[0]


def test_a_jsonl_line_that_is_not_json_names_its_line(tmp_path: Path) -> None:
    golden = tmp_path / "golden.jsonl"
    golden.write_text('{"id": "a", "input": {"text": "x"}}\n{"id": "b", oops}\n')
    result = cli("dataset", "show", str(golden))
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == f"Error: {golden}: line 2 is not JSON (Expecting property name enclosed in double quotes)"
    )


def test_bad_options_are_exit_2(tmp_path: Path) -> None:
    golden = tmp_path / "golden.yaml"
    golden.write_text("agent: eval_agents:echo\ncases:\n  - id: a\n    input: {text: x}\n")
    assert "--perturb 'noise'" in cli("eval", str(golden), "--no-upload", "--perturb", "noise").output
    assert cli("eval", str(golden), "--no-upload", "--fault", "tool:x").exit_code == 2
    assert cli("eval", str(golden), "--no-upload", "--min-score", "exact").exit_code == 2

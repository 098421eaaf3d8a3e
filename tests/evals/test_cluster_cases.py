"""A failure cluster becomes golden cases: ``tracereel clusters``, ``dataset add-cluster``, then ``tracereel eval``.

The agent runs with the SDK against a real collector; its failures are clustered there, the
cluster's traces become cases, the cases replay the failure offline, and pass once the code
and the expected answers are fixed.
"""

from __future__ import annotations

import json
from pathlib import Path

import cluster_agents
import pytest
import yaml
from eval_support import cli

import tracereel
from tests.support import DEADLINE, wait_until
from tracereel.client import CollectorClient


def _fail(order_id: str) -> None:
    with pytest.raises(KeyError):
        cluster_agents.answer(question=f"where is {order_id}?", order_id=order_id)


def test_a_cluster_becomes_cases_that_replay_the_failure(tmp_path: Path, recorder) -> None:
    cluster_agents.FIXED.clear()
    for order_id in ("X1", "X2", "X3"):
        _fail(order_id)
    assert cluster_agents.answer(question="and B7?", order_id="B7") == "order B7 is shipped"
    assert tracereel.flush(DEADLINE)
    api = CollectorClient(recorder.url)
    wait_until(
        lambda: [c for c in api.clusters(window="1h") if c.size == 3 and "orders" in c.agents],
        "the three failures to form a cluster",
    )

    listed = cli("clusters", "--window", "1h", "--json", "--collector", recorder.url)
    assert listed.exit_code == 0, listed.output
    [cluster] = [c for c in json.loads(listed.stdout)["clusters"] if c["agents"] == ["orders"]]
    assert cluster["signature"] == "error:tool:find_order:KeyError"
    assert {"orders", "table"} <= set(cluster["terms"])
    shown = cli("clusters", "--window", "1h", "--collector", recorder.url)
    assert cluster["id"] in shown.stdout and "tracereel dataset add-cluster" in shown.stdout

    golden = tmp_path / "golden.yaml"
    added = cli("dataset", "add-cluster", str(golden), cluster["id"], "--max", "2", "--collector", recorder.url)
    assert added.exit_code == 0, added.output
    cases = yaml.safe_load(golden.read_text())["cases"]
    assert len(cases) == 2
    assert [c["input"]["order_id"] for c in cases] == ["X3", "X2"]  # the newest first
    assert all(c["expected"] is None and c["tags"] == {"cluster": cluster["id"]} for c in cases)
    assert all((tmp_path / c["trace"]).is_file() for c in cases)
    # Added again, the traces already in the file are not added twice; --max 3 adds the third.
    again = cli("dataset", "add-cluster", str(golden), cluster["id"], "--max", "3", "--collector", recorder.url)
    assert again.exit_code == 0, again.output
    assert [c["input"]["order_id"] for c in yaml.safe_load(golden.read_text())["cases"]] == ["X3", "X2", "X1"]

    # Offline, the cases reproduce the failure: the recorded KeyError is raised again.
    failing = cli("eval", str(golden), "--json", "--no-upload")
    assert failing.exit_code == 1, failing.output
    assert all("KeyError" in (c["error"] or "") for c in json.loads(failing.stdout)["cases"])

    # The developer writes the right answers and fixes the code: the same recordings now pass.
    data = yaml.safe_load(golden.read_text())
    for case in data["cases"]:
        case["expected"] = f"there is no order {case['input']['order_id']}"
    golden.write_text(yaml.safe_dump(data, sort_keys=False))
    cluster_agents.FIXED["unknown_order"] = True
    try:
        fixed = cli("eval", str(golden), "--json", "--no-upload")
    finally:
        cluster_agents.FIXED.clear()
    assert fixed.exit_code == 0, fixed.output
    assert json.loads(fixed.stdout)["pass_rate"] == 1.0


def test_an_unknown_cluster_is_one_line_and_writes_nothing(tmp_path: Path, recorder) -> None:
    golden = tmp_path / "golden.yaml"
    result = cli("dataset", "add-cluster", str(golden), "fc-0000000000000000", "--collector", recorder.url)
    assert result.exit_code == 2
    assert "no failure cluster fc-0000000000000000 in the last 7d" in result.output
    assert "Traceback" not in result.output and not golden.exists()

"""Online evaluation (DESIGN.md "Production loop"): rules in the collector, ``tracereel evaluator`` as a real process.

The collector runs over uvicorn on a fresh chDB store; the agents' traces arrive through the SDK
over OTLP/HTTP; the evaluator is ``python -m tracereel evaluator`` in a subprocess, and the judge
(for llm_judge with a rubric) is the local fake OpenAI server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import tracereel
from tests.conftest import RunningCollector
from tests.fake_openai import FakeOpenAI
from tests.support import clean_env, wait_until
from tracereel.client import CollectorClient, CollectorError
from tracereel.online import sampled, shard_of

# The custom scorer the rules load by module:func, from the evaluator's working directory.
_SCORERS = """
def picky(run):
    if "boom" in str(run.output):
        raise RuntimeError("cannot judge a boom")
    return 1.0
"""


@tracereel.tool(name="lookup_order")
def _lookup(order: str) -> str:
    return f"order {order} shipped on monday"


@tracereel.agent(name="support-bot")
def _support(order: str) -> str:
    found = _lookup(order)
    return "boom" if order.endswith("7") else f"your {found}"


@tracereel.agent(name="billing-bot")
def _billing(order: str) -> str:
    return f"invoice for {order}"


def _run_tasks(collector: RunningCollector, count: int, agent: Any = _support) -> list[str]:
    """Run ``count`` tasks through the SDK; their trace ids once every one is listed."""
    before = {t["trace_id"] for t in CollectorClient(collector.url).traces(limit=1000)}
    for i in range(count):
        agent(f"B{i}")
    tracereel.flush()

    def listed() -> list[str]:
        now = [t["trace_id"] for t in CollectorClient(collector.url).traces(limit=1000)]
        new = [t for t in now if t not in before]
        return new if len(new) == count else []

    return wait_until(listed, f"{count} new traces listed")


def _evaluator(url: str, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "tracereel", "evaluator", "--collector", url, "--settle", "0", *args]
    return subprocess.run(argv, cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=120)


def _online_scores(client: CollectorClient, trace_id: str, rule: str) -> list[Any]:
    return [s for s in client.trace(trace_id).get("scores", []) if s["source"] == f"online:{rule}"]


def _cli(url: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "tracereel", "online", *args, "--collector", url]
    return subprocess.run(argv, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=60)


@pytest.fixture
def scorers_dir(tmp_path: Path) -> Path:
    (tmp_path / "my_scorers.py").write_text(textwrap.dedent(_SCORERS))
    return tmp_path


def test_the_evaluator_scores_each_sampled_trace_once_across_restarts(
    sdk_to: RunningCollector, scorers_dir: Path
) -> None:
    url = sdk_to.url
    added = _cli(
        url,
        "add",
        "quality",
        "--scorer",
        "groundedness",
        "--scorer",
        "max_steps=0",
        "--scorer",
        "my_scorers:picky",
        "--agent",
        "support-*",
        "--sample",
        "0.5",
    )
    assert added.returncode == 0, added.stderr
    assert "added online rule quality" in added.stdout
    support = _run_tasks(sdk_to, 24)
    billing = _run_tasks(sdk_to, 3, _billing)  # another agent: not the rule's
    chosen = {t for t in support if sampled("quality", t, 0.5)}
    assert 0 < len(chosen) < len(support)  # 24 ids at 0.5: some in, some out

    first = _evaluator(url, scorers_dir, "--once")
    assert first.returncode == 0, first.stderr
    assert f"scored {len(chosen)} traces" in first.stdout
    client = CollectorClient(url)
    for trace_id in support + billing:
        scores = {s["name"]: s for s in _online_scores(client, trace_id, "quality")}
        if trace_id not in chosen:
            assert scores == {}, trace_id
            continue
        assert set(scores) == {"groundedness", "max_steps", "picky"}
        # The deterministic judge fallback: no model configured.
        assert scores["groundedness"]["author"] == "fallback:support-overlap"
        assert (scores["max_steps"]["label"], scores["max_steps"]["value"]) == ("fail", 0.0)  # one tool call > 0
        picky = scores["picky"]
        if client.trace(trace_id)["spans"] and _output_is_boom(client, trace_id):
            assert (picky["label"], picky["value"]) == ("error", 0.0)
            assert picky["comment"] == "scorer raised RuntimeError: cannot judge a boom"
        else:
            assert (picky["label"], picky["value"]) == ("pass", 1.0)

    # A restarted evaluator finds nothing left: nothing is scored twice.
    second = _evaluator(url, scorers_dir, "--once")
    assert second.returncode == 0, second.stderr
    assert "scored 0 traces" in second.stdout
    listed = _cli(url, "list", "--json")
    (rule,) = json.loads(listed.stdout)
    booms = sum(1 for t in chosen if _output_is_boom(client, t))
    assert rule["progress"] == {"scored": len(chosen), "errors": booms, "pending": 0, "lag_seconds": 0.0}
    assert sum(len(_online_scores(client, t, "quality")) for t in chosen) == 3 * len(chosen)


def _output_is_boom(client: CollectorClient, trace_id: str) -> bool:
    root = next(s for s in client.trace(trace_id)["spans"] if not s.get("parent_span_id"))
    return "boom" in json.dumps(root.get("attributes", {}))


def test_two_evaluators_split_the_work_without_scoring_a_trace_twice(
    sdk_to: RunningCollector, scorers_dir: Path
) -> None:
    client = CollectorClient(sdk_to.url)
    client.add_online_rule({"name": "steps", "scorers": ["max_steps=5"], "sample": 1.0})
    traces = _run_tasks(sdk_to, 16)
    argv = [sys.executable, "-m", "tracereel", "evaluator", "--collector", sdk_to.url, "--settle", "0", "--once"]
    workers = [
        subprocess.Popen([*argv, "--shard", f"{k}/2"], env=clean_env(), stdout=subprocess.PIPE, text=True)
        for k in range(2)
    ]
    outputs = [w.communicate(timeout=120)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0]
    for k, out in enumerate(outputs):
        mine = sum(1 for t in traces if shard_of(t, 2) == k)
        assert f"scored {mine} traces" in out, out
    for trace_id in traces:
        assert [s["name"] for s in _online_scores(client, trace_id, "steps")] == ["max_steps"]


def test_the_running_evaluator_scores_a_new_trace_and_stops_on_sigterm(
    sdk_to: RunningCollector, scorers_dir: Path
) -> None:
    client = CollectorClient(sdk_to.url)
    client.add_online_rule({"name": "grounded", "scorers": ["groundedness"], "sample": 1.0})
    argv = [sys.executable, "-m", "tracereel", "evaluator", "--collector", sdk_to.url, "--settle", "0"]
    worker = subprocess.Popen(argv, env=clean_env(), stderr=subprocess.PIPE, text=True)
    try:
        (trace_id,) = _run_tasks(sdk_to, 1)
        wait_until(lambda: _online_scores(client, trace_id, "grounded"), "the running evaluator scores the trace")
    finally:
        worker.terminate()
        _, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert "evaluator: 1 rules, scored 1 traces, 0 errors" in err


def test_llm_judge_asks_the_judge_with_the_rules_rubric(sdk_to: RunningCollector, scorers_dir: Path) -> None:
    def verdict(request: dict[str, Any]) -> str:
        return json.dumps({"score": 0.9, "reason": "polite and on topic"})

    client = CollectorClient(sdk_to.url)
    rubric = "Is the answer polite and does it name the order?"
    client.add_online_rule({"name": "polite", "scorers": ["llm_judge"], "sample": 1.0, "rubric": rubric})
    (trace_id,) = _run_tasks(sdk_to, 1)
    with FakeOpenAI(verdict) as judge:
        done = _evaluator(
            sdk_to.url,
            scorers_dir,
            "--once",
            TRACEREEL_JUDGE_URL=judge.base_url,
            TRACEREEL_JUDGE_MODEL="judge-test",
            TRACEREEL_JUDGE_CACHE="off",
        )
        assert done.returncode == 0, done.stderr
        asked = json.dumps(judge.requests)
    assert rubric in asked and "your order B0 shipped on monday" in asked
    (score,) = _online_scores(client, trace_id, "polite")
    assert (score["name"], score["value"], score["label"]) == ("llm_judge", 0.9, "pass")
    assert (score["author"], score["comment"]) == ("judge:judge-test", "polite and on topic")


def test_bad_rules_are_refused_with_one_line_and_change_nothing(sdk_to: RunningCollector) -> None:
    url = sdk_to.url
    assert _cli(url, "add", "good", "--scorer", "groundedness").returncode == 0
    cases = {
        ("--scorer", "groundedness", "--sample", "0"): "--sample: expected a share in (0, 1]",
        ("--scorer", "groundedness", "--sample", "1.5"): "--sample: expected a share in (0, 1]",
        ("--scorer", "exact"): "--scorer: unknown scorer 'exact' (online scorers: groundedness",
        ("--scorer", "nonsense"): "--scorer: unknown scorer 'nonsense'",
        ("--scorer", "max_steps"): "--scorer: scorer 'max_steps' needs option 'limit'",
        ("--scorer", "llm_judge"): "--rubric: llm_judge needs one",
    }
    for args, message in cases.items():
        refused = _cli(url, "add", "bad", *args)
        assert refused.returncode == 2, (args, refused.stdout)
        assert refused.stderr.startswith(f"Error: {message}"), refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    duplicate = _cli(url, "add", "good", "--scorer", "max_steps=3")
    assert duplicate.returncode == 2
    assert "an online rule named good already exists" in duplicate.stderr
    # The collector refuses the same without the CLI: 422 naming the field, 409 for the name.
    with sdk_to.client() as http:
        bad = http.post("/api/v1/online/rules", json={"name": "x", "scorers": ["groundedness"], "sample": 0})
        assert bad.status_code == 422 and "sample" in bad.text
        unknown = http.post("/api/v1/online/rules", json={"name": "x", "scorers": ["os.system"]})
        assert unknown.status_code == 422 and "unknown scorer 'os.system'" in unknown.text
        again = http.post("/api/v1/online/rules", json={"name": "good", "scorers": ["groundedness"]})
        assert again.status_code == 409
        assert [r["name"] for r in http.get("/api/v1/online/rules").json()["rules"]] == ["good"]
        assert http.get("/api/v1/online/rules/x/pending").status_code == 404
        for shard, shards in ((2, 2), (1, 1)):  # no trace hashes to K >= N
            beyond = http.get("/api/v1/online/rules/good/pending", params={"shard": shard, "shards": shards})
            assert beyond.status_code == 200 and beyond.json()["traces"] == []
    (rule,) = CollectorClient(url).online_rules()
    assert (rule.scorers, rule.sample) == (["groundedness"], 0.1)
    removed = _cli(url, "remove", "good")
    assert removed.returncode == 0 and "removed online rule good" in removed.stdout
    gone = _cli(url, "remove", "good")
    assert gone.returncode == 2 and "no online rule named good" in gone.stderr
    with pytest.raises(CollectorError):
        CollectorClient(url).online_pending("good")

"""`tracereel demo --golden DIR`: a golden set from the demo's stable runs, evaluated for the stable and
the canary and stored in a real collector process, as the dashboard's Evaluations page reads it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import claim_port, clean_env, wait_healthy
from tracereel.demo.golden import CANARY, DATASET, pick_cases
from tracereel.demo.tasks import generate, tags
from tracereel.evals import load_dataset

pytestmark = pytest.mark.e2e

_DEMO = [sys.executable, "-m", "tracereel", "demo", "--seed", "42", "--spread-hours", "1"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The URL of a `tracereel serve` process on a fresh embedded store."""
    port = claim_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "tracereel", "serve", "--port", str(port)],
        env=clean_env(TRACEREEL_STORE=f"chdb://{tmp_path / 'store'}"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_healthy(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(20)


def _demo(url: str, golden: Path, tasks: int = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_DEMO, "--endpoint", url, "--tasks", str(tasks), "--golden", str(golden)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )


def _runs(url: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{url}/api/v1/evals/runs", params={"dataset": DATASET}, timeout=30)
    answer.raise_for_status()
    return answer.json()["runs"]


def test_the_demo_writes_a_golden_set_and_stores_a_stable_and_a_canary_run(served: str, tmp_path: Path) -> None:
    golden = tmp_path / "demo-golden"
    done = _demo(served, golden)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    lines = done.stdout.splitlines()
    assert lines[-3] == f"tracereel demo: golden set written to {golden / 'golden.yaml'}"
    stable_line, canary_line = lines[-2:]
    assert stable_line.startswith(f"tracereel demo: golden set {DATASET} (stable): pass rate 100.0% over ")
    assert canary_line.startswith(f"tracereel demo: golden set {DATASET} (canary): pass rate ")

    # The file loads with the evals API: stable-version cases with varied tags, their traces beside it.
    dataset = load_dataset(golden / "golden.yaml")
    assert dataset.name == DATASET and 12 <= len(dataset.cases) <= 20
    topics = {c.tags["topic"] for c in dataset.cases}
    styles = {c.tags["style"] for c in dataset.cases}
    assert {"billing", "tech_support", "travel"} <= topics and len(styles) >= 3
    assert all(set(c.tags) == {"topic", "style", "persona"} for c in dataset.cases)
    for case in dataset.cases:
        assert case.trace and (golden / case.trace).is_file()
    assert len(list((golden / "traces").iterdir())) == len(dataset.cases)

    # The collector has the dataset with two runs; the canary's is worse and names its regressions.
    runs = _runs(served)
    assert len(runs) == 2
    by_agent = {r["agent"]: r for r in runs}
    stable, canary = by_agent[None], by_agent[CANARY]
    assert stable["pass_rate"] == 1.0 and stable["case_count"] == len(dataset.cases)
    assert canary["pass_rate"] < stable["pass_rate"]
    assert canary["baseline_run_id"] == stable["run_id"]
    # Both evaluations start within a second: the canary, run second, is listed as the newer run,
    # so the Evaluations page compares stable -> canary and shows its regressions as regressions.
    assert [r["run_id"] for r in runs] == [canary["run_id"], stable["run_id"]]
    assert canary["regressions"] and set(canary["regressions"]) <= {c.id for c in dataset.cases}
    assert stable["run_id"] in stable_line and canary["run_id"] in canary_line
    assert f"{len(canary['regressions'])} regression(s) vs stable" in canary_line


def test_the_same_seed_gives_the_same_golden_set_and_a_rerun_replaces_it(served: str, tmp_path: Path) -> None:
    golden = tmp_path / "g"
    first = _demo(served, golden, tasks=40)
    assert first.returncode == 0, first.stderr
    before = load_dataset(golden / "golden.yaml")
    old_traces = set((golden / "traces").iterdir())
    (golden / "notes.txt").write_text("mine")  # nothing but the golden set is touched
    again = _demo(served, golden, tasks=40)
    assert again.returncode == 0, again.stderr
    after = load_dataset(golden / "golden.yaml")
    assert [(c.id, c.input, c.expected, c.tags) for c in before.cases] == [
        (c.id, c.input, c.expected, c.tags) for c in after.cases
    ]
    # New trace ids: the old trace files are gone, the new ones are there, one per case.
    new_traces = set((golden / "traces").iterdir())
    assert not old_traces & new_traces and len(new_traces) == len(after.cases)
    assert (golden / "notes.txt").read_text() == "mine"
    runs = _runs(served)
    assert len(runs) == 4
    rates = sorted((r["agent"] or "", r["pass_rate"]) for r in runs)
    assert rates[0] == rates[1] and rates[2] == rates[3]  # the same pass rates for the same seed


def test_a_golden_set_that_cannot_be_written_is_one_warning_and_the_demo_still_succeeds(
    served: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    done = _demo(served, blocker / "golden", tasks=10)
    assert done.returncode == 0, done.stderr
    summary, feedback = done.stdout.splitlines()[-2:]
    assert summary.startswith("tracereel demo: 10 tasks (") and "simulated user feedbacks" in feedback
    (warning,) = done.stderr.strip().splitlines()
    assert warning.startswith("warning: the demo's golden set was not evaluated: ")
    assert _runs(served) == []


def test_cases_are_stable_runs_that_did_not_crash_spread_over_topics() -> None:
    planned = generate(42, 200)
    outcomes = ["crashed" if i % 7 == 0 else "succeeded" for i in range(200)]
    chosen = pick_cases(planned, outcomes, 16)
    assert len(chosen) == 16 and chosen == sorted(chosen, key=lambda t: t.index)
    assert all(t.entrypoint == "supervisor" and outcomes[t.index] != "crashed" for t in chosen)
    topics = [tags(t)["topic"] for t in chosen]
    assert set(topics) == {"billing", "tech_support", "travel", "research", "vague"}
    assert max(topics.count(t) for t in set(topics)) - min(topics.count(t) for t in set(topics)) <= 1
    assert pick_cases(planned, outcomes, 16) == chosen

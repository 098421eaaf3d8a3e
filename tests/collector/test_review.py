"""Review queues against a real collector over uvicorn, fed by the SDK (DESIGN.md "Production loop").

A queue's expression picks the traces (feedback, scores, outcome, escalations, guardrails); a
verdict takes a trace out of the open items and is kept as a ``review`` score and a done item
with the expected value. The CLI adds, lists and removes queues; a malformed expression is one
line naming the position and what was expected, and nothing is stored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

import tracereel
from tests.conftest import RunningCollector
from tests.support import latest_trace
from tracereel.cli import main


def _agent(kind: str) -> Callable[[], str]:
    @tracereel.agent(name=f"review-{kind}")
    def run() -> str:
        if kind == "grounded":
            tracereel.score("groundedness", 0.9)
        elif kind == "ungrounded":
            tracereel.score("groundedness", 0.2)
        elif kind == "error":
            raise ValueError("the order service is down")
        elif kind == "escalate":
            tracereel.escalate("the customer asked for a person")
        elif kind == "violation":
            tracereel.guardrail("pii", False, "an email address in the answer")
        return f"answer of {kind}"

    return run


KINDS = ("grounded", "ungrounded", "error", "escalate", "violation", "fine")


@pytest.fixture
def traces(sdk_to: RunningCollector) -> Iterator[dict[str, str]]:
    """One trace of each kind, by kind; 'fine' gets a thumbs-down from its user."""
    ids: dict[str, str] = {}
    for kind in KINDS:
        since = time.time() - 0.5
        try:
            _agent(kind)()
        except ValueError:
            pass
        ids[kind] = latest_trace(sdk_to.url, f"review-{kind}", since)
    with sdk_to.client() as http:
        body = {"trace_id": ids["fine"], "name": "user_feedback", "value": -1, "source": "feedback"}
        assert http.post("/api/v1/scores", json=body).status_code == 201
    yield ids


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, ["review", *args], catch_exceptions=False)


def _items(collector: RunningCollector, queue: str, state: str = "open") -> dict[str, dict[str, Any]]:
    with collector.client() as http:
        answer = http.get(f"/api/v1/review/queues/{queue}/items", params={"state": state})
        assert answer.status_code == 200, answer.text
        return {item["trace_id"]: item for item in answer.json()["items"]}


def test_a_queue_holds_the_traces_its_expression_matches_with_the_clause_that_matched(
    collector: RunningCollector, traces: dict[str, str]
) -> None:
    queues = {
        "triage": "feedback < 0 or score.groundedness < 0.5 or status = error",
        "people": "escalated OR guardrail = violation",
        "good": "status = ok and score.groundedness >= 0.5",
        "nothing": "feedback > 0 or guardrail != violation and status = error and escalated",
    }
    for name, when in queues.items():
        added = _cli("add-queue", name, "--when", when, "--collector", collector.url)
        assert added.exit_code == 0, added.output
    reasons = {name: {t: i["reason"] for t, i in _items(collector, name).items()} for name in queues}
    assert reasons["triage"] == {
        traces["fine"]: "feedback < 0",
        traces["ungrounded"]: "score.groundedness < 0.5",
        traces["error"]: "status = error",
    }
    assert reasons["people"] == {traces["escalate"]: "escalated", traces["violation"]: "guardrail = violation"}
    assert reasons["good"] == {traces["grounded"]: "status = ok and score.groundedness >= 0.5"}
    assert reasons["nothing"] == {}
    listed = _cli("list", "--json", "--collector", collector.url)
    assert {q["name"]: (q["when"], q["open"]) for q in json.loads(listed.output)} == {
        "good": (queues["good"], 1),
        "nothing": (queues["nothing"], 0),
        "people": (queues["people"], 2),
        "triage": (queues["triage"], 3),
    }


def test_a_verdict_closes_the_item_is_a_review_score_and_reviewing_again_replaces_it(
    collector: RunningCollector, traces: dict[str, str]
) -> None:
    assert (
        _cli("add-queue", "triage", "--when", "score.groundedness < 0.5", "--collector", collector.url).exit_code == 0
    )
    bad = traces["ungrounded"]
    path = f"/api/v1/review/queues/triage/items/{bad}"
    with collector.client() as http:
        given = http.post(path, json={"verdict": "fail", "expected": {"refund": 40}, "note": "made up a policy"})
        assert given.status_code == 200, given.text
        assert given.json()["score"]["source"] == "review:triage"
        assert _items(collector, "triage") == {}
        done = _items(collector, "triage", "done")[bad]
        assert (done["verdict"], done["expected"], done["note"], done["reason"]) == (
            "fail",
            {"refund": 40},
            "made up a policy",
            "score.groundedness < 0.5",
        )
        again = http.post(path, json={"verdict": "pass", "expected": "answer of ungrounded", "note": None})
        assert again.status_code == 200, again.text
        reviews = [s for s in http.get(f"/api/v1/traces/{bad}").json()["scores"] if s["name"] == "review"]
        assert [(s["value"], s["label"], s["source"], s["comment"]) for s in reviews] == [
            (1.0, "pass", "review:triage", None)
        ]
        done = _items(collector, "triage", "done")[bad]
        assert (done["verdict"], done["expected"], done["note"]) == ("pass", "answer of ungrounded", None)
        # A trace the queue does not hold, and a verdict that is neither pass nor fail, change nothing.
        outside = http.post(f"/api/v1/review/queues/triage/items/{traces['grounded']}", json={"verdict": "pass"})
        assert outside.status_code == 404
        assert outside.json()["detail"] == f"trace {traces['grounded']} is not in review queue triage"
        wrong = http.post(path, json={"verdict": "maybe"})
        assert wrong.status_code == 422 and "verdict" in wrong.text
        unknown_queue = http.post(f"/api/v1/review/queues/nope/items/{bad}", json={"verdict": "pass"})
        assert (unknown_queue.status_code, unknown_queue.json()["detail"]) == (404, "no review queue named nope")
        assert _items(collector, "triage", "done")[bad]["verdict"] == "pass"
        actions = [(e["action"], e["target"]) for e in http.get("/api/v1/audit").json()["entries"]]
    assert ("add_review_queue", "triage") in actions


@pytest.mark.parametrize(
    ("when", "problem"),
    [
        ("score.groundedness <", "at 21: expected a number after '<'"),
        ("feedback < 0 or score.groundedness < high", "at 38: expected a number after '<'"),
        ("status = maybe", "at 10: expected ok or error after '='"),
        (
            "feedback < 0 or",
            "at 16: expected a clause (feedback, score.NAME, status, escalated, guardrail = violation)",
        ),
        ("escalated escalated", "at 11: expected 'and' or 'or' or the end after 'escalated'"),
        ("guardrail = pass", "at 13: expected 'violation' after '='"),
    ],
)
def test_a_malformed_expression_is_one_line_naming_where_and_nothing_is_stored(
    collector: RunningCollector, when: str, problem: str
) -> None:
    refused = _cli("add-queue", "broken", "--when", when, "--collector", collector.url)
    assert refused.exit_code == 2
    assert refused.output.count("\n") == 1 and problem in refused.output, refused.output
    assert _cli("list", "--collector", collector.url).output.startswith("no review queues;")


def test_names_are_unique_and_a_removed_queue_is_gone(collector: RunningCollector) -> None:
    url = collector.url
    assert _cli("add-queue", "triage", "--when", "escalated", "--collector", url).output == (
        "added review queue triage: traces where escalated\n"
    )
    taken = _cli("add-queue", "triage", "--when", "status = error", "--collector", url)
    assert taken.exit_code == 2 and "a review queue named triage already exists" in taken.output
    bad_name = _cli("add-queue", "no spaces", "--when", "escalated", "--collector", url)
    assert bad_name.exit_code == 2 and "is not a queue name" in bad_name.output
    assert _cli("remove", "triage", "--collector", url).output == "removed review queue triage\n"
    again = _cli("remove", "triage", "--collector", url)
    assert again.exit_code == 2 and "no review queue named triage" in again.output
    assert _cli("list", "--collector", url).output.startswith("no review queues;")
    with collector.client() as http:
        actions = [(e["action"], e["target"], e["detail"]) for e in http.get("/api/v1/audit").json()["entries"]]
    assert ("add_review_queue", "triage", "escalated") in actions
    assert ("remove_review_queue", "triage", "") in actions
    assert [a for a in actions if a[0] == "add_review_queue"] == [("add_review_queue", "triage", "escalated")]

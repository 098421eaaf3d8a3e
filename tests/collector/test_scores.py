"""Scores: one store for every judgement of a trace (DESIGN.md "Production loop").

The SDK's ``tracereel.score()`` reaches the store with its spans; the API's ``POST /api/v1/scores``
adds any other judgement. Both are listed with the trace, by a real collector over uvicorn.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import tracereel
from tests.conftest import RunningCollector, start_collector
from tests.support import wait_until
from tracereel.client import CollectorClient, NotFound
from tracereel.contracts.scores import ScoreIn


@tracereel.agent(name="scored-bot")
def _answer(question: str) -> str:
    tracereel.score("groundedness", 0.25)
    tracereel.score("helpfulness", 0.75)
    return question.upper()


def _one_task(sdk_to: RunningCollector) -> str:
    """Run one agent task through the SDK and wait until its trace is stored; its id."""
    _answer("where is my order")
    tracereel.flush()
    with sdk_to.client() as http:
        wait_until(lambda: http.get("/api/v1/traces").json()["traces"], "the task's trace is listed")
        return http.get("/api/v1/traces").json()["traces"][0]["trace_id"]


def test_the_sdk_and_the_api_scores_are_listed_with_the_trace(sdk_to: RunningCollector) -> None:
    trace_id = _one_task(sdk_to)
    with sdk_to.client() as http:
        posted = http.post(
            "/api/v1/scores",
            json={"trace_id": trace_id, "name": "user_feedback", "value": -1, "comment": "wrong order", "author": "u1"},
        )
        assert posted.status_code == 201, posted.text
        stored = posted.json()["scores"][0]
        assert stored["source"] == "api" and stored["value"] == -1.0 and stored["id"]
        scores = http.get(f"/api/v1/traces/{trace_id}").json()["scores"]
    by_name = {s["name"]: s for s in scores}
    assert set(by_name) == {"groundedness", "helpfulness", "user_feedback"}
    assert (by_name["groundedness"]["source"], by_name["groundedness"]["value"]) == ("sdk", 0.25)
    assert (by_name["helpfulness"]["source"], by_name["helpfulness"]["value"]) == ("sdk", 0.75)
    feedback = by_name["user_feedback"]
    assert (feedback["comment"], feedback["author"], feedback["label"]) == ("wrong order", "u1", None)
    assert feedback["time"].endswith("Z")


def test_a_score_posted_again_under_its_id_replaces_the_first(sdk_to: RunningCollector) -> None:
    trace_id = _one_task(sdk_to)
    with sdk_to.client() as http:
        for value in (0.0, 1.0):
            body = {"trace_id": trace_id, "name": "correct", "value": value, "id": "rule-x:1", "source": "online:x"}
            assert http.post("/api/v1/scores", json=body).status_code == 201
        mine = [s for s in http.get(f"/api/v1/traces/{trace_id}").json()["scores"] if s["name"] == "correct"]
    assert [(s["id"], s["value"], s["source"]) for s in mine] == [("rule-x:1", 1.0, "online:x")]


def test_a_batch_is_stored_all_or_none(sdk_to: RunningCollector) -> None:
    trace_id = _one_task(sdk_to)
    unknown = "f" * 32
    with sdk_to.client() as http:
        refused = http.post(
            "/api/v1/scores/batch",
            json={
                "scores": [
                    {"trace_id": trace_id, "name": "a", "value": 1},
                    {"trace_id": unknown, "name": "a", "value": 1},
                ]
            },
        )
        assert refused.status_code == 404
        assert refused.json()["detail"] == f"no trace with id {unknown} in the store"
        assert not [s for s in http.get(f"/api/v1/traces/{trace_id}").json()["scores"] if s["name"] == "a"]
        batch = [{"trace_id": trace_id.upper(), "name": "a", "value": v} for v in (1, 0)]
        accepted = http.post("/api/v1/scores/batch", json={"scores": batch})
        assert accepted.status_code == 201, accepted.text
        values = sorted(s["value"] for s in http.get(f"/api/v1/traces/{trace_id}").json()["scores"] if s["name"] == "a")
    assert values == [0.0, 1.0]


def test_bad_scores_are_refused_naming_the_problem_and_change_nothing(sdk_to: RunningCollector) -> None:
    trace_id = _one_task(sdk_to)
    with sdk_to.client() as http:
        before = http.get(f"/api/v1/traces/{trace_id}").json()["scores"]

        def refused(body: dict[str, Any], status: int = 422) -> str:
            answer = http.post("/api/v1/scores", json=body)
            assert answer.status_code == status, answer.text
            return str(answer.json()["detail"])

        assert (
            refused({"trace_id": "0" * 32, "name": "x", "value": 1}, 404) == f"no trace with id {'0' * 32} in the store"
        )
        not_a_number = refused({"trace_id": trace_id, "name": "x", "value": "good"})
        assert not_a_number == "invalid request body: value: expected a finite number, got 'good'"
        assert "name: " in refused({"trace_id": trace_id, "name": "has space", "value": 1})
        assert "review scores are written by" in refused(
            {"trace_id": trace_id, "name": "x", "value": 1, "source": "review:q"}
        )
        assert "trace_id: expected 32 hex digits" in refused({"trace_id": "not-hex", "name": "x", "value": 1})
        assert "colour" in refused({"trace_id": trace_id, "name": "x", "value": 1, "colour": "red"})
        after = http.get(f"/api/v1/traces/{trace_id}").json()["scores"]
    assert after == before


def test_scores_need_an_ingest_or_admin_key(store: Any) -> None:
    running, _ = start_collector(store, admin_key="admin-key-for-scores")
    try:
        with httpx.Client(base_url=running.url) as http:
            body = {"trace_id": "1" * 32, "name": "x", "value": 1}
            assert http.post("/api/v1/scores", json=body).status_code == 401
            read_key = http.post(
                "/api/v1/keys",
                json={"team": "t", "role": "read"},
                headers={"authorization": "Bearer admin-key-for-scores"},
            ).json()["key"]
            refused = http.post("/api/v1/scores", json=body, headers={"authorization": f"Bearer {read_key}"})
    finally:
        running.stop()
    assert refused.status_code == 403 and "ingest" in refused.json()["detail"]


def test_the_client_scores_and_names_an_unknown_trace(sdk_to: RunningCollector) -> None:
    trace_id = _one_task(sdk_to)
    client = CollectorClient(sdk_to.url)
    stored = client.score(trace_id, "thumbs", 1, comment="great", source="feedback", id="fb-1")
    assert (stored["id"], stored["source"], stored["comment"]) == ("fb-1", "feedback", "great")
    batch = client.post_scores([ScoreIn(trace_id=trace_id, name="thumbs", value=-1, source="feedback")])
    assert [s["value"] for s in batch] == [-1.0]
    assert sorted(s["value"] for s in client.trace(trace_id)["scores"] if s["name"] == "thumbs") == [-1.0, 1.0]
    with pytest.raises(NotFound, match=r"no trace with id 0{32} in the store"):
        client.score("0" * 32, "thumbs", 1)

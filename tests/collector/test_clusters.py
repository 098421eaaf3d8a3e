"""Failure clusters (DESIGN.md "Production loop"): failing tasks grouped by signature, then by text, with stable ids.

Tasks reach a real collector over uvicorn as OTLP; scores through the scores API; the clusters
are read from ``GET /api/v1/clusters``.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.collector.failing_tasks import task, trace_id
from tests.collector.otlp_payloads import protobuf_request
from tests.conftest import RunningCollector
from tests.support import wait_until

PB = {"content-type": "application/x-protobuf"}
SECOND = 10**9


def _send(http: httpx.Client, specs: list[list[dict[str, Any]]]) -> None:
    body = protobuf_request([span for spec in specs for span in spec])
    assert http.post("/v1/traces", content=body, headers=PB).status_code == 200


def _clusters(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    answer = http.get("/api/v1/clusters", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["clusters"]


def _by_signature(clusters: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for cluster in clusters:
        out.setdefault(cluster["signature"], []).append(cluster)
    return out


def _timeouts(label: str, n: int, start: int) -> dict[str, list[dict[str, Any]]]:
    return {
        trace_id(f"{label}-{i}"): task(
            trace_id(f"{label}-{i}"),
            start + i * SECOND,
            tool_error=("TimeoutError", f"lookup_order timed out after {30 + i} s for order {1000 + i}"),
            output=f"Sorry, I could not find order {1000 + i} right now",
        )
        for i in range(n)
    }


def _wait_listed(http: httpx.Client, ids: set[str]) -> None:
    def listed() -> bool:
        shown = {t["trace_id"] for t in http.get("/api/v1/traces", params={"limit": 1000}).json()["traces"]}
        return ids <= shown

    wait_until(listed, f"{len(ids)} traces to be stored")


@pytest.fixture
def http(collector: RunningCollector) -> Any:
    with collector.client() as client:
        yield client


def test_failures_group_by_signature_then_by_text(http: httpx.Client) -> None:
    now = time.time_ns() - 600 * SECOND
    timeouts = _timeouts("timeout", 5, now)
    missing = {
        trace_id(f"missing-{i}"): task(
            trace_id(f"missing-{i}"),
            now + i * SECOND,
            tool_error=("KeyError", f"order {2000 + i} not in the orders table"),
        )
        for i in range(3)
    }
    pii = {
        trace_id(f"pii-{i}"): task(trace_id(f"pii-{i}"), now + i * SECOND, guardrail="pii-output", output="ok")
        for i in range(2)
    }
    # Success false, nothing in error: one signature, two kinds of text.
    refunds = {
        trace_id(f"refund-{i}"): task(
            trace_id(f"refund-{i}"),
            now + i * SECOND,
            success=False,
            output=f"The refund of {40 + i} EUR exceeds the refund limit for this customer",
        )
        for i in range(3)
    }
    addresses = {
        trace_id(f"address-{i}"): task(
            trace_id(f"address-{i}"),
            now + i * SECOND,
            success=False,
            output=f"Shipping address missing postcode, parcel {i} returned to warehouse",
        )
        for i in range(3)
    }
    fine = {trace_id(f"fine-{i}"): task(trace_id(f"fine-{i}"), now + i * SECOND) for i in range(4)}
    groups = (timeouts, missing, pii, refunds, addresses, fine)
    _send(http, [spec for group in groups for spec in group.values()])
    _wait_listed(http, {tid for group in groups for tid in group})

    clusters = _clusters(http, window="1h")
    by_sig = _by_signature(clusters)
    assert set(by_sig) == {
        "error:tool:lookup_order:TimeoutError",
        "error:tool:lookup_order:KeyError",
        "guardrail:pii-output",
        "failed:support-bot",
    }
    [timeout] = by_sig["error:tool:lookup_order:TimeoutError"]
    assert set(timeout["examples"]) == set(timeouts) and timeout["size"] == 5
    assert {"timed", "order"} <= set(timeout["terms"])
    assert timeout["agents"] == ["support-bot"] and timeout["previous_size"] == 0
    [notfound] = by_sig["error:tool:lookup_order:KeyError"]
    assert set(notfound["examples"]) == set(missing)
    [guard] = by_sig["guardrail:pii-output"]
    assert set(guard["examples"]) == set(pii)
    failed = by_sig["failed:support-bot"]
    assert sorted(set(c["examples"]) for c in failed) == sorted([set(refunds), set(addresses)], key=sorted)
    assert all("refund" in c["terms"] or "address" in c["terms"] for c in failed)
    # Largest first; every failing task in exactly one cluster, the successful ones in none.
    assert [c["size"] for c in clusters] == sorted((c["size"] for c in clusters), reverse=True)
    assert sum(c["size"] for c in clusters) == 16
    # The examples are the newest first.
    assert timeout["examples"][0] == trace_id("timeout-4")


def test_a_cluster_keeps_its_id_as_failures_join_it_and_a_new_kind_gets_a_new_one(http: httpx.Client) -> None:
    now = time.time_ns() - 900 * SECOND
    first = _timeouts("early", 4, now)
    refunds = {
        trace_id(f"limit-{i}"): task(
            trace_id(f"limit-{i}"), now + i * SECOND, success=False, output=f"Refund of {i} EUR over the limit"
        )
        for i in range(2)
    }
    _send(http, [*first.values(), *refunds.values()])
    _wait_listed(http, set(first) | set(refunds))
    before = {c["signature"]: c for c in _clusters(http, window="1h")}
    assert len(before) == 2

    # More of the same kinds (other order ids, amounts and delays), and a kind never seen.
    later = _timeouts("later", 3, now + 60 * SECOND)
    more_refunds = {
        trace_id(f"limit-later-{i}"): task(
            trace_id(f"limit-later-{i}"),
            now + (70 + i) * SECOND,
            success=False,
            output=f"Refund of {90 + i} EUR over the limit",
        )
        for i in range(2)
    }
    new_kind = {
        trace_id(f"rate-{i}"): task(
            trace_id(f"rate-{i}"),
            now + (80 + i) * SECOND,
            tool="send_email",
            tool_error=("RateLimitError", "mail provider answered 429 too many requests"),
        )
        for i in range(2)
    }
    _send(http, [*later.values(), *more_refunds.values(), *new_kind.values()])
    _wait_listed(http, set(later) | set(more_refunds) | set(new_kind))
    after = {c["signature"]: c for c in _clusters(http, window="1h")}

    for sig, cluster in before.items():
        assert after[sig]["id"] == cluster["id"], sig
        assert after[sig]["first_seen"] == cluster["first_seen"]
    assert after["error:tool:lookup_order:TimeoutError"]["size"] == 7
    assert after["failed:support-bot"]["size"] == 4
    fresh = after["error:tool:send_email:RateLimitError"]
    assert fresh["id"] not in {c["id"] for c in before.values()} and fresh["size"] == 2
    # Asked again, nothing moves.
    assert {c["signature"]: c["id"] for c in _clusters(http, window="1h")} == {s: c["id"] for s, c in after.items()}


def test_negative_feedback_and_failing_online_scores_are_failures(http: httpx.Client) -> None:
    now = time.time_ns() - 300 * SECOND
    tasks = {
        trace_id(f"scored-{i}"): task(trace_id(f"scored-{i}"), now + i * SECOND, output="Your order ships")
        for i in range(6)
    }
    _send(http, list(tasks.values()))
    _wait_listed(http, set(tasks))
    ids = list(tasks)
    scores = [
        # Thumbs-down with a comment: failing; thumbs-up: not.
        {"trace_id": ids[0], "name": "user_feedback", "value": -1, "source": "feedback", "comment": "wrong warehouse"},
        {"trace_id": ids[1], "name": "user_feedback", "value": -1, "source": "feedback", "comment": "wrong warehouse"},
        {"trace_id": ids[2], "name": "user_feedback", "value": 1, "source": "feedback"},
        # A failing online score, and a passing one.
        {"trace_id": ids[3], "name": "groundedness", "value": 0.1, "source": "online:ground"},
        {"trace_id": ids[4], "name": "groundedness", "value": 0.9, "source": "online:ground"},
        # Negative, but not feedback: an API score is no user's thumbs-down.
        {"trace_id": ids[5], "name": "user_feedback", "value": -1, "source": "api"},
    ]
    assert http.post("/api/v1/scores/batch", json={"scores": scores}).status_code == 201
    by_sig = _by_signature(_clusters(http, window="1h"))
    assert set(by_sig) == {"feedback:user_feedback", "score:groundedness"}
    [feedback] = by_sig["feedback:user_feedback"]
    assert set(feedback["examples"]) == {ids[0], ids[1]}
    assert "warehouse" in feedback["terms"]
    assert by_sig["score:groundedness"][0]["examples"] == [ids[3]]

    # A task's score of a name is its latest: the thumbs-down taken back is no failure any more.
    undo = {"trace_id": ids[1], "name": "user_feedback", "value": 1, "source": "feedback"}
    assert http.post("/api/v1/scores", json=undo).status_code == 201
    [feedback] = _by_signature(_clusters(http, window="1h"))["feedback:user_feedback"]
    assert feedback["examples"] == [ids[0]]


def test_the_agent_filter_and_the_trend(http: httpx.Client) -> None:
    now = time.time_ns()
    old = now - 90 * 60 * SECOND  # the window before the last hour
    recent = now - 10 * 60 * SECOND
    specs = {
        trace_id("old-0"): task(trace_id("old-0"), old, tool_error=("TimeoutError", "lookup timed out")),
        trace_id("new-0"): task(trace_id("new-0"), recent, tool_error=("TimeoutError", "lookup timed out")),
        trace_id("new-1"): task(trace_id("new-1"), recent + SECOND, tool_error=("TimeoutError", "lookup timed out")),
        trace_id("bill-0"): task(
            trace_id("bill-0"), recent, agent="billing-bot", tool_error=("TimeoutError", "lookup timed out")
        ),
    }
    _send(http, list(specs.values()))
    _wait_listed(http, set(specs))
    [support] = _clusters(http, window="1h", agent="support-bot")
    assert (support["size"], support["previous_size"]) == (2, 1)
    assert support["agents"] == ["support-bot"]
    [both] = _clusters(http, window="1h")
    assert both["id"] == support["id"] and both["agents"] == ["billing-bot", "support-bot"]
    assert (both["size"], both["previous_size"]) == (3, 1)
    [day] = _clusters(http, window="24h", examples=1)
    assert day["size"] == 4 and day["examples"] == [trace_id("new-1")]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"window": "yesterday"}, "window"),
        ({"window": "0"}, "window"),
        ({"window": "400d"}, "window"),
        ({"examples": "0"}, "examples"),
    ],
)
def test_a_bad_parameter_is_a_400_or_422_naming_it(http: httpx.Client, params: dict[str, str], named: str) -> None:
    answer = http.get("/api/v1/clusters", params=params)
    assert answer.status_code in (400, 422), answer.text
    assert named in answer.text

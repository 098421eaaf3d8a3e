"""``tracereel.feedback`` and ``tracereel.current_trace_id`` against a real collector (docs/feedback.md).

The docs' web handler runs for real as its own process: a page with the task's trace id, a
thumbs-down posted back, the score stored with the trace.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import tracereel
from tests.conftest import RunningCollector
from tests.monitor_support import send_tasks
from tests.support import wait_until

DOC = Path(__file__).resolve().parents[2] / "docs" / "feedback.md"


def _scores(http: httpx.Client, trace_id: str) -> list[dict[str, Any]]:
    answer = http.get(f"/api/v1/traces/{trace_id}")
    return answer.json()["scores"] if answer.status_code == 200 else []


def _example() -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- feedback-example -->\n```python\n(.*?)```", text, re.S)
    assert match, "docs/feedback.md has its example"
    return match.group(1)


def test_the_docs_web_handler_posts_a_thumbs_down_onto_the_task_it_answered(
    collector: RunningCollector, tmp_path: Path
) -> None:
    app = tmp_path / "helpdesk.py"
    app.write_text(_example(), encoding="utf-8")
    env = {**os.environ, "TRACEREEL_ENDPOINT": collector.url, "PORT": "0"}
    env.pop("PYTEST_CURRENT_TEST", None)
    process = subprocess.Popen(
        [sys.executable, str(app)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on "), line + (process.stderr.read() if process.stderr else "")
        url = line.split()[-1]
        with httpx.Client(base_url=url, timeout=30) as web:
            page = web.get("/", params={"q": "where is my order"})
            assert page.status_code == 200 and "your order ships tomorrow" in page.text
            trace_ids = set(re.findall(r'name="trace_id" value="([0-9a-f]{32})"', page.text))
            assert len(trace_ids) == 1, page.text
            [trace_id] = trace_ids
            voted = web.post(
                "/feedback",
                data={"trace_id": trace_id, "value": "-1", "comment": "wrong order"},
                headers={"x-user": "u-17"},
            )
            assert voted.status_code == 200 and "Thanks" in voted.text
        with collector.client() as http:
            [score] = wait_until(lambda: _scores(http, trace_id), "the thumbs-down is stored with the trace")
            trace = http.get(f"/api/v1/traces/{trace_id}").json()
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert {s["attributes"].get("gen_ai.agent.name") for s in trace["spans"]} >= {"helpdesk"}
    assert (score["name"], score["value"], score["source"]) == ("user_feedback", -1.0, "feedback")
    assert (score["author"], score["comment"]) == ("u-17", "wrong order")
    assert score["id"].startswith("feedback:")


def test_feedback_given_before_its_trace_is_stored_lands_once_it_is(sdk_to: RunningCollector) -> None:
    trace_id = "ab" * 16
    tracereel.feedback(trace_id, 1, user="u-1")
    with sdk_to.client() as http:
        assert http.get(f"/api/v1/traces/{trace_id}").status_code == 404  # not stored yet
        _send_trace(sdk_to.url, trace_id)
        [score] = wait_until(lambda: _scores(http, trace_id), "the feedback is stored once its trace is")
    assert (score["value"], score["source"], score["author"]) == (1.0, "feedback", "u-1")


def _send_trace(url: str, trace_id: str) -> None:
    """One finished task with the given trace id, over OTLP/JSON."""
    start = time.time_ns() - 1_000_000_000
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "late"}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": "cd" * 8,
                                "name": "invoke_agent late",
                                "kind": 1,
                                "startTimeUnixNano": str(start),
                                "endTimeUnixNano": str(start + 1000),
                                "attributes": [
                                    {"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}},
                                    {"key": "gen_ai.agent.name", "value": {"stringValue": "late"}},
                                ],
                            }
                        ]
                    }
                ],
            }
        ]
    }
    answer = httpx.post(f"{url}/v1/traces", json=body)
    assert answer.status_code == 200, answer.text


def test_bad_feedback_is_one_warning_and_dropped_never_an_error(
    sdk_to: RunningCollector, caplog: pytest.LogCaptureFixture
) -> None:
    send_tasks(sdk_to.url, 1, success=True)
    with sdk_to.client() as http:
        [task] = wait_until(lambda: http.get("/api/v1/traces").json()["traces"], "the task is stored")
        trace_id = task["trace_id"]
        with caplog.at_level(logging.WARNING, logger="tracereel"):
            assert tracereel.feedback(trace_id, float("nan")) is None
            tracereel.feedback(trace_id, "good")  # type: ignore[arg-type]  # what a careless caller passes
            tracereel.feedback(trace_id, True)
            tracereel.feedback("not-a-trace", -1)
            tracereel.feedback(trace_id, -1, name="has space")
        warnings = [r.getMessage() for r in caplog.records if r.name == "tracereel"]
        assert len(warnings) == 5, warnings
        assert "not a finite number" in warnings[0] and "not a trace id" in warnings[3]
        assert "not a score name" in warnings[4]
        # A good one after them is the only score stored.
        tracereel.feedback(trace_id, -1, comment="late")
        [score] = wait_until(lambda: _scores(http, trace_id), "the good feedback is stored")
    assert (score["value"], score["comment"]) == (-1.0, "late")


def test_current_trace_id_is_the_running_tasks_and_none_outside(spans: Any) -> None:
    @tracereel.agent(name="who")
    def who() -> str | None:
        return tracereel.current_trace_id()

    assert tracereel.current_trace_id() is None
    inside = who()
    assert tracereel.flush()
    [root] = [s for s in spans.get_finished_spans() if s.parent is None]
    assert inside == f"{root.context.trace_id:032x}"

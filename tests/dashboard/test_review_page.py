"""The Review page under AppTest, over a real collector: no queue, an empty queue, and a collector that is down."""

from __future__ import annotations

from typing import Any

from test_evals_page import _texts

from tracereel.client import CollectorClient


def _open(at: Any) -> Any:
    at.run()
    at.switch_page("views/review.py").run()
    assert not at.exception, at.exception
    return at


def test_no_queue_says_how_to_add_one(collector, app_for):
    at = _open(app_for(collector.url))
    assert at.title[0].value == "Review"
    assert "No review queues yet. Add one with `tracereel review add-queue" in at.info[0].value


def test_a_queue_with_nothing_open_says_so(collector, app_for):
    CollectorClient(collector.url).add_review_queue("quiet", "escalated and status = ok")
    at = _open(app_for(collector.url))
    assert at.selectbox(key="review_queue").value == "quiet"
    texts = _texts(at)
    assert "Traces where `escalated and status = ok`, newest first." in texts
    assert "Nothing left to review in quiet." in texts
    assert [m.value for m in at.metric] == ["0", "0"]


def test_collector_down_is_a_message_not_a_traceback(app_for, unused_port):
    url = f"http://127.0.0.1:{unused_port}"
    at = _open(app_for(url))
    assert "Collector unavailable" in at.error[0].value and url in at.error[0].value

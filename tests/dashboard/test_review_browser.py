"""The Review page in headless Chromium, over the demo's traces and its review queue (``tracereel up --demo``).

A real collector (uvicorn on 127.0.0.1) holds the demo's traces; the demo's queue has items without any
feedback or online rule (its agents grade their own groundedness, and some tasks fail). ``tracereel
dashboard`` runs as a real process; a reviewer fails the first item with an expected answer and a
note, and the page moves on to the next item while the verdict is stored.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.conftest import RunningCollector
from tests.support import DEADLINE, claim_port, clean_env, wait_http, wait_until
from tracereel.client import CollectorClient
from tracereel.demo import run_demo
from tracereel.demo.review import DEMO_QUEUE, DEMO_WHEN, add_demo_queue

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = int(DEADLINE * 1000)

pytestmark = [pytest.mark.browser]


@pytest.fixture
def demo_queue(collector: RunningCollector) -> RunningCollector:
    """The collector with 40 demo tasks and the demo's review queue, its items listed."""
    result = run_demo(collector.url, tasks=40, seed=42, spread_hours=1)
    collector.wait_for_spans(result.spans)
    assert add_demo_queue(collector.url).startswith(f"tracereel demo: review queue {DEMO_QUEUE} added")
    again = add_demo_queue(collector.url)
    assert again == f"tracereel demo: review queue {DEMO_QUEUE} is already there"
    api = CollectorClient(collector.url)
    items = wait_until(lambda: api.review_items(DEMO_QUEUE), "the demo's queue to have items")
    clauses = {"feedback < 0", "score.groundedness < 0.5", "status = error"}
    assert {i.reason for i in items} <= clauses and len(items) >= 2
    assert all(i.trace_id in result.trace_ids for i in items)
    return collector


@pytest.fixture
def dashboard(demo_queue: RunningCollector) -> Iterator[str]:
    port = claim_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tracereel", "dashboard", "--collector", demo_queue.url, "--port", str(port)],
        env=clean_env(),
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/_stcore/health", process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_reviewer_fails_the_first_item_and_the_page_moves_to_the_next(demo_queue, dashboard):
    from playwright.sync_api import sync_playwright

    api = CollectorClient(demo_queue.url)
    before = [i.trace_id for i in api.review_items(DEMO_QUEUE)]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1400})
            page.set_default_timeout(WAIT_MS)
            page.goto(f"{dashboard}/review")
            page.get_by_text("In the queue because").wait_for()
            expect(page.get_by_test_id("stException")).to_have_count(0)
            assert DEMO_WHEN in page.inner_text("body")
            first = before[0]
            expect(page.get_by_role("heading", name=f"Trace {first}")).to_have_count(1)
            expect(page.get_by_text("Scores and feedback")).to_have_count(1)
            # The trace's scores (the demo grades its own groundedness; a crashed task has none) are shown.
            scores = api.trace(first)["scores"]
            if scores:
                cells = page.get_by_test_id("stDataFrame").get_by_role("gridcell", include_hidden=True)
                expect(cells.filter(has_text=scores[0]["name"]).first).to_be_attached()
            else:
                expect(page.get_by_text("No scores or feedback on this trace.")).to_have_count(1)

            page.get_by_test_id("stRadio").get_by_text("fail", exact=True).click()
            page.get_by_role("textbox", name="Expected answer (JSON, or plain text)").fill(
                '{"reply": "a grounded answer"}'
            )
            page.get_by_role("textbox", name="Note").fill("made up a fact")
            page.get_by_role("button", name=re.compile("Submit verdict")).click()
            page.get_by_text(f"Marked {first} as fail.").wait_for()
            expect(page.get_by_role("heading", name=f"Trace {before[1]}")).to_have_count(1)
            expect(page.get_by_test_id("stException")).to_have_count(0)
        finally:
            browser.close()
    (done,) = api.review_items(DEMO_QUEUE, state="done")
    assert (done.trace_id, done.verdict, done.expected, done.note) == (
        first,
        "fail",
        {"reply": "a grounded answer"},
        "made up a fact",
    )
    assert first not in [i.trace_id for i in api.review_items(DEMO_QUEUE)]

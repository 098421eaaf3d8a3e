"""Scores on the dashboard, in headless Chromium: a trace's scores on its page, score trends on the Overview.

A real collector holds tasks scored by the SDK, by user feedback and through the API; the
dashboard runs as its own process and the pages are read as a person would.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

import tracereel
from tests.conftest import RunningCollector
from tests.support import DEADLINE, claim_port, clean_env, wait_http, wait_until
from tracereel.client import CollectorClient

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = int(DEADLINE * 1000)

pytestmark = pytest.mark.browser


@tracereel.agent(name="scored-support", version="1.0")
def _task(helpfulness: float) -> str | None:
    tracereel.score("groundedness", 0.8)
    tracereel.score("helpfulness", helpfulness)
    return tracereel.current_trace_id()


@pytest.fixture
def scored(collector: RunningCollector) -> Iterator[tuple[str, str]]:
    """Four scored tasks, a thumbs-down on the first, and the dashboard over them; (dashboard URL, first trace)."""
    tracereel.configure(service_name="scored", endpoint=collector.url, schedule_delay_millis=50)
    try:
        ids = [_task(v) for v in (0.2, 0.4, 0.6, 0.8)]
        assert tracereel.flush()
    finally:
        tracereel.shutdown()
    first = ids[0]
    assert first is not None
    api = CollectorClient(collector.url)
    wait_until(lambda: len(api.traces(limit=10)) == 4, "the four tasks are stored")
    api.score(first, "user_feedback", -1, source="feedback", author="u-42", comment="refund was wrong", label="down")
    port = claim_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tracereel", "dashboard", "--collector", collector.url, "--port", str(port)],
        env=clean_env(),
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/_stcore/health", process)
        yield url, first
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_trace_page_lists_its_scores_and_the_overview_charts_each_score(scored: tuple[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    url, trace_id = scored
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 2400})
            page.set_default_timeout(WAIT_MS)
            page.goto(f"{url}/trace?trace_id={trace_id}")
            table = page.get_by_test_id("stTable")
            expect(table).to_have_count(1, timeout=WAIT_MS)
            rows = table.locator("tbody tr")
            expect(rows).to_have_count(3, timeout=WAIT_MS)
            cells = [[cell.inner_text().strip() for cell in row.locator("td").all()] for row in rows.all()]
            by_name = {row[0]: row[1:] for row in cells}
            assert set(by_name) == {"groundedness", "helpfulness", "user_feedback"}
            # value, label, source, author, comment, then the time
            assert by_name["helpfulness"][:5] == ["0.2", "—", "sdk", "—", "—"]
            assert by_name["user_feedback"][:5] == ["-1", "down", "feedback", "u-42", "refund was wrong"]
            assert by_name["user_feedback"][5].endswith(" UTC")
            expect(page.get_by_test_id("stException")).to_have_count(0)

            page.goto(f"{url}/")
            page.get_by_text("Scores", exact=True).wait_for()
            titles = page.locator(".gtitle")
            expect(titles.filter(has_text="helpfulness: mean 0.5 over 4 tasks")).to_have_count(1, timeout=WAIT_MS)
            expect(titles.filter(has_text="groundedness: mean 0.8 over 4 tasks")).to_have_count(1, timeout=WAIT_MS)
            expect(titles.filter(has_text="user_feedback: mean -1 over 1 tasks")).to_have_count(1, timeout=WAIT_MS)
            expect(page.get_by_test_id("stException")).to_have_count(0)
            assert "Traceback" not in page.inner_text("body")
        finally:
            browser.close()


def test_a_trace_without_scores_says_so(collector: RunningCollector, app_for: Any) -> None:
    tracereel.configure(service_name="plain", endpoint=collector.url, schedule_delay_millis=50)
    try:

        @tracereel.agent(name="plain")
        def plain() -> str | None:
            return tracereel.current_trace_id()

        trace_id = plain()
        assert tracereel.flush()
    finally:
        tracereel.shutdown()
    api = CollectorClient(collector.url)
    wait_until(lambda: api.traces(limit=1), "the task is stored")
    at = app_for(collector.url)
    at.run()
    at.switch_page("views/trace.py")
    at.query_params["trace_id"] = trace_id or ""
    at.run()
    assert not at.exception
    assert any("No scores yet" in c.value for c in at.caption)

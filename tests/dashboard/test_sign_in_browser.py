"""The dashboard with auth on, in headless Chromium: a sign-in box, and only what the key may see.

A real collector (uvicorn on 127.0.0.1) holds two teams' traces; ``tracereel dashboard`` runs as
a real process with no key. The page first asks to sign in (a message, not a traceback); with
team alpha's read key typed into the sidebar's box, the traces listed are alpha's and none of beta's.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.collector.otlp_payloads import agent_task, protobuf_request
from tests.conftest import RunningCollector, start_collector
from tests.support import DEADLINE, claim_port, clean_env, wait_http

ADMIN = "dashboard-admin-key-for-tests"
CHROMIUM = "/usr/bin/chromium"
WAIT_MS = int(DEADLINE * 1000)

pytestmark = [pytest.mark.browser]


@pytest.fixture
def two_teams(store: Any) -> Iterator[tuple[RunningCollector, str]]:
    """A collector holding a task of team alpha (agent support-bot) and one of beta (agent beta-secret-agent)."""
    running, _ = start_collector(store, admin_key=ADMIN)
    admin = {"authorization": f"Bearer {ADMIN}"}
    start = time.time_ns() - 3600 * 10**9
    try:
        with httpx.Client(base_url=running.url, headers=admin) as http:
            keys = {}
            for team, role in (("alpha", "ingest"), ("beta", "ingest"), ("alpha", "read")):
                made = http.post("/api/v1/keys", json={"team": team, "role": role})
                keys[team, role] = made.json()["key"]
            for team, agent, trace_id in (
                ("alpha", "support-bot", "1" * 16 + "00000000000000a1"),
                ("beta", "beta-secret-agent", "2" * 16 + "00000000000000a1"),
            ):
                body = protobuf_request(agent_task(trace_id, agent, "gpt-4o", "lookup_order", start), "svc")
                sent = http.post(
                    "/v1/traces",
                    content=body,
                    headers={
                        "content-type": "application/x-protobuf",
                        "authorization": f"Bearer {keys[team, 'ingest']}",
                    },
                )
                assert sent.status_code == 200
        yield running, keys["alpha", "read"]
    finally:
        running.stop()


@pytest.fixture
def dashboard(two_teams: tuple[RunningCollector, str]) -> Iterator[str]:
    collector, _ = two_teams
    port = claim_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tracereel", "dashboard", "--collector", collector.url, "--port", str(port)],
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


def test_the_dashboard_asks_for_a_key_then_shows_only_that_teams_traces(two_teams, dashboard):
    from playwright.sync_api import sync_playwright

    _, read_key = two_teams
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(WAIT_MS)
            page.goto(f"{dashboard}/traces")
            page.get_by_text("This collector needs an API key").wait_for()
            assert "Traceback" not in page.inner_text("body")
            expect(page.get_by_test_id("stException")).to_have_count(0)

            page.get_by_label("API key", exact=True).and_(page.locator("input")).fill(read_key)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_text("newest first").wait_for()
            expect(page.get_by_text("Signed in with the key entered here.")).to_have_count(1)
            expect(page.get_by_text("1 of 1 traces")).to_have_count(1)
            cells = page.get_by_test_id("stDataFrame").get_by_role("gridcell", include_hidden=True)
            expect(cells.filter(has_text="support-bot")).not_to_have_count(0)
            expect(cells.filter(has_text="beta-secret-agent")).to_have_count(0)
            assert "beta-secret-agent" not in page.inner_text("body")
            assert read_key not in page.content()
        finally:
            browser.close()

"""End to end: ``tracereel serve --monitor-interval`` pages a local receiver; the Monitors page in headless Chromium.

The collector and the dashboard are real processes; tasks arrive over OTLP; the page is loaded
as a person would, and its link from the firing monitor is followed to the traces behind it.
The screenshot goes to docs/ with TRACEREEL_UPDATE_SCREENSHOTS=1, else to pytest's temporary directory.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.monitor_support import Receiver, receiver, send_tasks
from tests.support import DEADLINE, claim_port, clean_env, migrated_store, wait_healthy, wait_http, wait_until
from tracereel.client import CollectorClient

DOCS = Path(__file__).resolve().parents[2] / "docs"
CHROMIUM = "/usr/bin/chromium"
WAIT_MS = int(DEADLINE * 1000)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _stop(process: subprocess.Popen[Any] | None) -> None:
    if process is None:
        return
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def paging(tmp_path: Path) -> Iterator[tuple[str, str, Receiver]]:
    """A collector evaluating monitors every 0.2 s (one of them firing, its page delivered) and the dashboard."""
    collector_port, dashboard_port = claim_port(), claim_port()
    collector_url = f"http://127.0.0.1:{collector_port}"
    env = clean_env(TRACEREEL_STORE=migrated_store(tmp_path / "store"))
    exe = [sys.executable, "-m", "tracereel"]
    collector = subprocess.Popen([*exe, "serve", "--port", str(collector_port), "--monitor-interval", "0.2"], env=env)
    dashboard = None
    with receiver() as hooks:
        try:
            wait_healthy(collector_url, collector)
            api = CollectorClient(collector_url)
            common = {"metric": "task_success_rate", "below": 0.5, "notify": hooks.url(), "agent": "pager"}
            api.add_monitor({"name": "canary-success", "version": "2.0", **common})
            api.add_monitor({"name": "stable-success", "version": "1.0", **common})
            send_tasks(collector_url, 3, success=False, version="2.0")
            send_tasks(collector_url, 5, success=True, version="1.0")
            wait_until(lambda: hooks.count() == 1, "the canary monitor to page the receiver")
            dashboard = subprocess.Popen(
                [*exe, "dashboard", "--collector", collector_url, "--port", str(dashboard_port)], env=env
            )
            dashboard_url = f"http://127.0.0.1:{dashboard_port}"
            wait_http(f"{dashboard_url}/_stcore/health", dashboard)
            yield collector_url, dashboard_url, hooks
        finally:
            _stop(dashboard)
            _stop(collector)


def test_the_monitors_page_and_its_link_to_the_traces(paging, tmp_path):
    from playwright.sync_api import sync_playwright

    _, dashboard_url, hooks = paging
    shots = DOCS if os.environ.get("TRACEREEL_UPDATE_SCREENSHOTS") == "1" else tmp_path
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.set_default_timeout(WAIT_MS)
            page.goto(f"{dashboard_url}/monitors")
            page.get_by_text("The traces behind canary-success (firing)").wait_for()
            expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT_MS)
            assert "Traceback" not in page.inner_text("body")
            tiles = {
                t.inner_text().split("\n")[0]: t.inner_text().split("\n")[-1]
                for t in page.get_by_test_id("stMetric").all()
            }
            assert (tiles["Firing"], tiles["OK"]) == ("1", "1")
            # Only the firing monitor links to its traces.
            expect(page.get_by_text(re.compile(r"The traces behind stable-success"))).to_have_count(0)
            page.screenshot(path=str(shots / "dashboard-monitors.png"))

            page.get_by_text("The traces behind canary-success (firing)").click()
            page.wait_for_url(re.compile(r"/traces\?.*monitor=canary-success"))
            page.get_by_text("The traces behind monitor canary-success").wait_for()
            expect(page.get_by_text("3 of 3 traces", exact=False)).to_have_count(1, timeout=WAIT_MS)
            assert "Traceback" not in page.inner_text("body")
        finally:
            browser.close()
    assert hooks.count() == 1  # paged once, however many evaluations ran meanwhile

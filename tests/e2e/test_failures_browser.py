"""End to end: the Failures page in headless Chromium, over a real collector and dashboard.

Failing tasks arrive over OTLP; the page ranks their clusters by size and trend, shows a cluster's
examples and the command that makes golden cases of it, and an example opens the Trace page.
The screenshot goes to docs/ with TRACEREEL_UPDATE_SCREENSHOTS=1, else to pytest's temporary directory.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.collector.failing_tasks import task, trace_id
from tests.collector.otlp_payloads import protobuf_request
from tests.support import DEADLINE, claim_port, clean_env, wait_healthy, wait_http, wait_until
from tracereel.client import CollectorClient

DOCS = Path(__file__).resolve().parents[2] / "docs"
CHROMIUM = "/usr/bin/chromium"
WAIT_MS = int(DEADLINE * 1000)
SECOND = 10**9

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _stop(process: subprocess.Popen[Any] | None) -> None:
    if process is None:
        return
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


def _failures(collector_url: str) -> str:
    """Four timeouts (one of them in the previous day) and two refund refusals; the newest timeout's trace id."""
    now = time.time_ns() - 600 * SECOND
    specs = [
        task(
            trace_id(f"timeout-{i}"),
            now + i * SECOND,
            tool_error=("TimeoutError", f"lookup_order timed out after {30 + i} s"),
        )
        for i in range(3)
    ]
    specs.append(task(trace_id("timeout-old"), now - 30 * 3600 * SECOND, tool_error=("TimeoutError", "timed out")))
    specs += [
        task(trace_id(f"refund-{i}"), now + i * SECOND, success=False, output=f"refund of {i} EUR over the limit")
        for i in range(2)
    ]
    body = protobuf_request([span for spec in specs for span in spec])
    answer = httpx.post(f"{collector_url}/v1/traces", content=body, headers={"content-type": "application/x-protobuf"})
    assert answer.status_code == 200
    api = CollectorClient(collector_url)
    wait_until(lambda: sum(c.size for c in api.clusters(window="24h")) == 5, "the failures to be clustered")
    return trace_id("timeout-2")


@pytest.fixture
def failing(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A collector holding failing tasks, and the dashboard over it."""
    collector_port, dashboard_port = claim_port(), claim_port()
    collector_url = f"http://127.0.0.1:{collector_port}"
    env = clean_env(TRACEREEL_STORE=f"chdb://{tmp_path / 'store'}")
    exe = [sys.executable, "-m", "tracereel"]
    collector = subprocess.Popen([*exe, "serve", "--port", str(collector_port)], env=env)
    dashboard = None
    try:
        wait_healthy(collector_url, collector)
        newest = _failures(collector_url)
        dashboard = subprocess.Popen(
            [*exe, "dashboard", "--collector", collector_url, "--port", str(dashboard_port)], env=env
        )
        dashboard_url = f"http://127.0.0.1:{dashboard_port}"
        wait_http(f"{dashboard_url}/_stcore/health", dashboard)
        yield dashboard_url, newest
    finally:
        _stop(dashboard)
        _stop(collector)


def test_the_failures_page_ranks_clusters_and_links_their_examples(failing, tmp_path):
    from playwright.sync_api import sync_playwright

    dashboard_url, newest = failing
    shots = DOCS if os.environ.get("TRACEREEL_UPDATE_SCREENSHOTS") == "1" else tmp_path
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.set_default_timeout(WAIT_MS)
            page.goto(f"{dashboard_url}/failures")
            page.get_by_text("5 failing tasks in the last 24h, in 2 clusters", exact=False).wait_for()
            expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT_MS)
            expect(page.get_by_test_id("stMetric")).to_have_count(3, timeout=WAIT_MS)
            body = page.inner_text("body")
            assert "Traceback" not in body
            # The largest cluster is chosen first: the timeouts, 3 now against 1 the day before.
            tiles = {
                t.inner_text().split("\n")[0]: t.inner_text().split("\n")[-1]
                for t in page.get_by_test_id("stMetric").all()
            }
            assert (tiles.get("Failing tasks"), tiles.get("Window before"), tiles.get("Trend")) == ("3", "1", "+2"), (
                tiles
            )
            assert "error:tool:lookup_order:TimeoutError" in body
            code = page.get_by_test_id("stCode").first.inner_text()
            assert re.fullmatch(r"tracereel dataset add-cluster golden\.yaml fc-[0-9a-f]{16} --max 10\s*", code)
            page.screenshot(path=str(shots / "dashboard-failures.png"))

            page.get_by_text(f"Example {newest}").click()
            page.wait_for_url(re.compile(rf"/trace\?trace_id={newest}"))
            page.get_by_text("execute_tool lookup_order", exact=False).first.wait_for()
            assert "Traceback" not in page.inner_text("body")
        finally:
            browser.close()

"""End to end: ``tracereel serve`` and ``tracereel dashboard`` as real processes, every page in headless Chromium.

The store holds a week of synthetic history (bench/query.py's generator, written before the
collector starts) plus live traces sent by the SDK-instrumented agent system over OTLP. Each
page is loaded the way a person would, checked for what they would see, and saved as a
screenshot (dashboard-<page>.png): under docs/ with TRACEREEL_UPDATE_SCREENSHOTS=1 (how the
README's pictures are made), else in pytest's temporary directory, so a test run leaves the
checkout unchanged.
"""

from __future__ import annotations

import importlib.util
import os
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_workload import run_workload
from playwright.sync_api import expect

import tracereel

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the page screenshots go."""
    return DOCS if os.environ.get("TRACEREEL_UPDATE_SCREENSHOTS") == "1" else tmp_path


CHROMIUM = "/usr/bin/chromium"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[Any], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def _fill_history(directory: Path, tasks: int = 1500) -> None:
    """A week of agent traces in the store, written directly (the collector is not running yet)."""
    spec = importlib.util.spec_from_file_location("bench_query", ROOT / "bench" / "query.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    from tracereel.collector import Store

    rng = random.Random(3)
    out = bench.Columns()
    hexes = os.urandom(16 * 40 * tasks).hex()
    ids = [hexes[i : i + 32] for i in range(0, len(hexes), 32)]
    now = time.time_ns()
    for _ in range(tasks):
        bench.synthesize_task(out, rng, now - rng.randrange(7 * 86400 * 10**9), ids)
    store = Store.open(f"chdb://{directory}")
    try:
        store.insert_spans(out.cols)
    finally:
        store.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The collector and the dashboard as real processes over a filled store; yields their URLs."""
    directory = tmp_path_factory.mktemp("e2e") / "store"
    _fill_history(directory)
    collector_port, dashboard_port = _port(), _port()
    collector_url = f"http://127.0.0.1:{collector_port}"
    env = {**os.environ, "TRACEREEL_STORE": f"chdb://{directory}"}
    env.pop("TRACEREEL_PRICES", None)
    exe = [sys.executable, "-m", "tracereel"]
    collector = subprocess.Popen([*exe, "serve", "--port", str(collector_port)], env=env)
    dashboard = None
    try:
        _wait_http(f"{collector_url}/healthz", collector)
        tracereel.configure(service_name="support-prod", endpoint=collector_url, schedule_delay_millis=50)
        try:
            run_workload(0)
            run_workload(1)
            assert tracereel.flush()
        finally:
            tracereel.shutdown()
        dashboard = subprocess.Popen(
            [*exe, "dashboard", "--collector", collector_url, "--port", str(dashboard_port)], env=env
        )
        dashboard_url = f"http://127.0.0.1:{dashboard_port}"
        _wait_http(f"{dashboard_url}/_stcore/health", dashboard)
        yield {"collector": collector_url, "dashboard": dashboard_url}
    finally:
        for process in (dashboard, collector):
            if process is not None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
    # Stopping `tracereel dashboard` stops the server too (no streamlit left behind on the port).
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", dashboard_port)) != 0


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def _open(browser: Any, url: str, ready_text: str, height: int) -> Any:
    page = browser.new_page(viewport={"width": 1440, "height": height})
    page.goto(url)
    # Streamlit renders over a websocket: wait for the page's own content, then for it to settle.
    page.get_by_text(ready_text).first.wait_for(timeout=60_000)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(1500)  # plotly draws after the data arrives
    return page


def _no_traceback(page: Any) -> None:
    body = page.inner_text("body")
    assert "Traceback" not in body
    assert not page.locator('[data-testid="stException"]').count()


def test_every_page_in_a_real_browser(stack, browser, shots):
    dashboard = stack["dashboard"]

    # Overview: tiles with numbers, trend charts, breakdowns.
    page = _open(browser, f"{dashboard}/", "Task success", 2300)
    _no_traceback(page)
    tiles = page.locator('[data-testid="stMetric"]')
    assert tiles.count() == 19
    tasks_tile = page.locator('[data-testid="stMetric"]', has_text="Tasks").first.inner_text()
    assert int(re.search(r"\n([\d,]+)", tasks_tile).group(1).replace(",", "")) >= 24  # 24 live + history
    assert page.locator(".js-plotly-plot").count() == 7
    page.screenshot(path=str(shots / "dashboard-overview.png"))
    page.close()

    # Traces: the table; selecting a row opens the trace.
    page = _open(browser, f"{dashboard}/traces", "newest first", 1100)
    _no_traceback(page)
    assert page.get_by_text(re.compile(r"\d+ of \d+ traces")).count() == 1
    page.screenshot(path=str(shots / "dashboard-traces.png"))
    grid = page.locator('[data-testid="stDataFrame"]').first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row's selection cell
    page.wait_for_url(re.compile(r"/trace\?trace_id=[0-9a-f]{32}"), timeout=30_000)
    page.close()

    # Trace: an escalated task from the live agent system.
    with urllib.request.urlopen(f"{stack['collector']}/api/v1/traces?limit=100&agent=support") as response:
        import json

        traces = json.load(response)["traces"]
    escalated = next(t for t in traces if t["error_count"] == 1 and t["task_success"] is False)
    trace_id = escalated["trace_id"]
    page = _open(browser, f"{dashboard}/trace?trace_id={trace_id}", "Replay this trace", 1700)
    _no_traceback(page)
    # The code block is highlighted after it mounts: let the assertion retry until it shows.
    expect(page.locator('[data-testid="stCode"]').first).to_have_text(
        f"tracereel replay {trace_id} --collector {stack['collector']}", timeout=30_000
    )
    assert page.get_by_text("refund over the approval limit").count() >= 1
    assert page.get_by_text("Timeline").count() == 1
    expanders = page.locator('[data-testid="stExpander"]')
    step = expanders.filter(has=page.locator("summary", has_text="execute_tool issue_refund")).first
    step.locator("summary").click()
    step.get_by_text("arguments").wait_for()
    assert "ValueError" in step.inner_text()
    page.screenshot(path=str(shots / "dashboard-trace.png"))
    page.close()

    # Compare: two versions side by side.
    page = _open(browser, f"{dashboard}/compare", "against stable", 1300)
    _no_traceback(page)
    assert page.get_by_text(re.compile(r"\d+ better, \d+ worse")).count() == 1
    page.screenshot(path=str(shots / "dashboard-compare.png"))
    page.close()

    # An unknown trace id is a message, not an error page.
    page = _open(browser, f"{dashboard}/trace?trace_id={'0' * 32}", "No trace with id", 600)
    _no_traceback(page)
    page.close()

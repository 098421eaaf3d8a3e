"""End to end: ``tracereel serve`` and ``tracereel dashboard`` as real processes, every page in headless Chromium.

The store holds a week of synthetic history (bench/query.py's generator, written before the
collector starts) plus live traces sent by the SDK-instrumented agent system over OTLP, and two
eval runs of a golden set uploaded through the client. Each
page is loaded the way a person would, checked for what they would see, and saved as a
screenshot (dashboard-<page>.png): under docs/ with TRACEREEL_UPDATE_SCREENSHOTS=1 (how the
README's pictures are made), else in pytest's temporary directory, so a test run leaves the
checkout unchanged.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agent_workload import run_workload
from playwright.sync_api import expect

import tracereel
from tests.eval_reports import report
from tests.support import DEADLINE, claim_port, clean_env, listening_addresses, migrated_store, wait_healthy, wait_http
from tracereel.client import CollectorClient

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the page screenshots go."""
    return DOCS if os.environ.get("TRACEREEL_UPDATE_SCREENSHOTS") == "1" else tmp_path


CHROMIUM = "/usr/bin/chromium"
# Every wait in the browser is on an element or a URL; this only bounds one that never comes.
WAIT_MS = int(DEADLINE * 1000)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


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
    store = Store.open(migrated_store(directory))
    try:
        store.insert_spans(out.cols)
    finally:
        store.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The collector and the dashboard as real processes over a filled store; yields their URLs."""
    directory = tmp_path_factory.mktemp("e2e") / "store"
    _fill_history(directory)
    collector_port, dashboard_port = claim_port(), claim_port()
    collector_url = f"http://127.0.0.1:{collector_port}"
    env = clean_env(TRACEREEL_STORE=f"chdb://{directory}")
    exe = [sys.executable, "-m", "tracereel"]
    collector = subprocess.Popen([*exe, "serve", "--port", str(collector_port)], env=env)
    dashboard = None
    try:
        wait_healthy(collector_url, collector)
        tracereel.configure(service_name="support-prod", endpoint=collector_url, schedule_delay_millis=50)
        try:
            run_workload(0)
            run_workload(1)
            assert tracereel.flush()
        finally:
            tracereel.shutdown()
        # Two eval runs of a golden set: the second breaks one case and fixes another.
        api = CollectorClient(collector_url)
        api.upload_eval_run(report("run-1", started_at="2025-05-01T10:00:00+00:00", failing=("order-status",)))
        api.upload_eval_run(
            report("run-2", started_at="2025-05-02T10:00:00+00:00", failing=("cancel-order",), baseline="run-1")
        )
        dashboard = subprocess.Popen(
            [*exe, "dashboard", "--collector", collector_url, "--port", str(dashboard_port)], env=env
        )
        dashboard_url = f"http://127.0.0.1:{dashboard_port}"
        wait_http(f"{dashboard_url}/_stcore/health", dashboard)
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
    assert listening_addresses(dashboard_port) == set()


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


def _open(browser: Any, url: str, ready_text: str, height: int, charts: int) -> Any:
    """A page of the dashboard once it has run and drawn its ``charts`` plotly charts."""
    page = browser.new_page(viewport={"width": 1440, "height": height})
    page.set_default_timeout(WAIT_MS)
    page.goto(url)
    # Streamlit renders over a websocket: wait for the page's own content, then for the script
    # to finish (the status widget shows while it runs).
    page.get_by_text(ready_text).first.wait_for()
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT_MS)
    # Plotly draws after the data arrives: a chart is drawn once its traces are in the SVG.
    drawn = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot:has(g.trace)')
    expect(drawn).to_have_count(charts, timeout=WAIT_MS)
    return page


def _no_traceback(page: Any) -> None:
    assert "Traceback" not in page.inner_text("body")
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_every_page_in_a_real_browser(stack, browser, shots):
    dashboard = stack["dashboard"]

    # Overview: tiles with numbers, trend charts, breakdowns, and one chart per score name of the window
    # (the Overview's default: the last 24 hours), as the collector counts them.
    day = httpx.get(f"{stack['collector']}/api/v1/metrics", params={"from": int(time.time()) - 86400}).json()
    assert day["scores"], "the demo's tasks carry scores (groundedness from the SDK)"
    charts = 4 + 3 + len(day["scores"])
    page = _open(browser, f"{dashboard}/", "Task success", 2300 + 400 * len(day["scores"]), charts=charts)
    _no_traceback(page)
    expect(page.get_by_test_id("stMetric")).to_have_count(20, timeout=WAIT_MS)
    tasks_tile = page.get_by_test_id("stMetric").filter(has_text="Tasks").first.inner_text()
    assert int(re.search(r"\n([\d,]+)", tasks_tile).group(1).replace(",", "")) >= 24  # 24 live + history
    page.screenshot(path=str(shots / "dashboard-overview.png"))
    page.close()

    # Traces: the table; selecting a row opens the trace.
    page = _open(browser, f"{dashboard}/traces", "newest first", 1100, charts=0)
    _no_traceback(page)
    expect(page.get_by_text(re.compile(r"\d+ of \d+ traces"))).to_have_count(1, timeout=WAIT_MS)
    # The grid draws on a canvas, with an accessible table of its cells inside it (which the
    # browser does not render, hence include_hidden). Newest first: the first row under the
    # headers is the newest trace, and one of its cells is its id.
    newest_row = page.get_by_test_id("stDataFrame").get_by_role("row", include_hidden=True).nth(1)
    id_cells = newest_row.get_by_role("gridcell", include_hidden=True)
    newest = id_cells.filter(has_text=re.compile(r"^[0-9a-f]{32}$")).first
    trace_id = newest.inner_text()
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id), trace_id
    page.screenshot(path=str(shots / "dashboard-traces.png"))
    # Selecting a row the grid's own way, from the keyboard: focus one of its cells, Shift+Space.
    newest.focus()
    # The grid has made a cell of that row its current cell (it marks it aria-selected).
    expect(id_cells.and_(page.locator('[aria-selected="true"]'))).to_have_count(1, timeout=WAIT_MS)
    page.keyboard.press("Shift+Space")
    page.wait_for_url(re.compile(rf"/trace\?trace_id={trace_id}$"))
    page.close()

    # Trace: an escalated task from the live agent system.
    with urllib.request.urlopen(f"{stack['collector']}/api/v1/traces?limit=100&agent=support") as response:
        traces = json.load(response)["traces"]
    escalated = next(t for t in traces if t["error_count"] == 1 and t["task_success"] is False)
    trace_id = escalated["trace_id"]
    page = _open(browser, f"{dashboard}/trace?trace_id={trace_id}", "Replay this trace", 1700, charts=1)
    _no_traceback(page)
    # The code block is highlighted after it mounts: let the assertion retry until it shows.
    expect(page.get_by_test_id("stCode").first).to_have_text(
        f"tracereel replay {trace_id} --collector {stack['collector']}", timeout=WAIT_MS
    )
    expect(page.get_by_test_id("stCode").nth(1)).to_have_text(
        f"tracereel dataset add golden.yaml {trace_id}", timeout=WAIT_MS
    )
    expect(page.get_by_text("refund over the approval limit").first).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("Timeline")).to_have_count(1, timeout=WAIT_MS)
    expanders = page.get_by_test_id("stExpander")
    step = expanders.filter(has=page.locator("summary", has_text="execute_tool issue_refund")).first
    step.locator("summary").click()
    step.get_by_text("arguments").wait_for()
    expect(step).to_contain_text("ValueError", timeout=WAIT_MS)
    page.screenshot(path=str(shots / "dashboard-trace.png"))
    page.close()

    # Compare: two versions side by side, with the gate's verdicts and intervals.
    page = _open(browser, f"{dashboard}/compare", "against stable", 1300, charts=1)
    _no_traceback(page)
    summary = re.compile(r"verdict (promote|fail|inconclusive): \d+ better, \d+ worse, \d+ no difference")
    expect(page.get_by_text(summary)).to_have_count(1, timeout=WAIT_MS)
    expect(page.get_by_text("with each metric's interval")).to_have_count(1, timeout=WAIT_MS)
    page.screenshot(path=str(shots / "dashboard-compare.png"))
    page.close()

    # Evaluations: the history chart, a run's cases, the tag breakdown, two runs side by side.
    page = _open(browser, f"{dashboard}/evals", "Two runs side by side", 2600, charts=2)
    _no_traceback(page)
    expect(page.get_by_text("1 regressions, 1 fixes")).to_have_count(1, timeout=WAIT_MS)
    expect(page.get_by_text("support-golden: pass rate and mean scores per run")).to_have_count(1, timeout=WAIT_MS)
    expect(page.get_by_text("Pass rate by topic, style and persona")).to_have_count(1, timeout=WAIT_MS)
    page.screenshot(path=str(shots / "dashboard-evals.png"))
    page.close()

    # An unknown trace id is a message, not an error page.
    page = _open(browser, f"{dashboard}/trace?trace_id={'0' * 32}", "No trace with id", 600, charts=0)
    _no_traceback(page)
    page.close()


def test_the_kill_switches_page_kills_and_revives_in_a_real_browser(stack, browser, shots):
    api = CollectorClient(stack["collector"])
    page = _open(browser, f"{stack['dashboard']}/switches", "No agent is killed", 1000, charts=0)
    _no_traceback(page)
    form = page.get_by_test_id("stForm")
    form.get_by_label("Agent", exact=True).fill("billing")
    form.get_by_label("Version", exact=True).fill("1.4")
    form.get_by_label("Reason", exact=True).fill("refunds twice")
    form.get_by_role("button", name="Kill", exact=True).click()
    expect(page.get_by_text("Killed billing@1.4: refunds twice")).to_have_count(1, timeout=WAIT_MS)
    expect(page.get_by_text("1 switch in force")).to_have_count(1, timeout=WAIT_MS)
    # The table (its accessible cells) and the revive button are drawn once the rerun is done.
    cells = page.get_by_test_id("stDataFrame").get_by_role("gridcell", include_hidden=True)
    expect(cells.filter(has_text="refunds twice")).to_have_count(1, timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Revive", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT_MS)
    _no_traceback(page)
    assert [(s.agent, s.version, s.reason) for s in api.switches().switches] == [("billing", "1.4", "refunds twice")]
    page.screenshot(path=str(shots / "dashboard-switches.png"))

    page.get_by_role("button", name="Revive", exact=True).click()
    expect(page.get_by_text("Revived billing@1.4")).to_have_count(1, timeout=WAIT_MS)
    expect(page.get_by_text("No agent is killed")).to_have_count(1, timeout=WAIT_MS)
    assert api.switches().switches == []
    page.close()

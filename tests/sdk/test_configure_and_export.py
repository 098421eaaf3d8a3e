"""Configuration precedence, and the promise that telemetry never breaks or blocks the agent."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

import tracereel
from tests.support import clean_env
from tracereel.sdk.settings import resolve


def test_argument_beats_env_var_beats_default(monkeypatch):
    assert resolve("endpoint") == "http://127.0.0.1:4318"
    monkeypatch.setenv("TRACEREEL_ENDPOINT", "http://collector.internal:4318")
    assert resolve("endpoint") == "http://collector.internal:4318"
    assert resolve("endpoint", "http://other:1") == "http://other:1"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout-agent")
    assert resolve("service_name") == "checkout-agent"


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        (
            "TRACEREEL_MAX_QUEUE_SIZE",
            "lots",
            "TRACEREEL_MAX_QUEUE_SIZE='lots' is not valid: expected a positive integer",
        ),
        ("TRACEREEL_MAX_QUEUE_SIZE", "-3", "expected a positive integer"),
        ("TRACEREEL_ENDPOINT", "collector:4318", "TRACEREEL_ENDPOINT='collector:4318' is not valid"),
    ],
)
def test_a_bad_env_var_is_named_in_the_error(monkeypatch, var, value, expected):
    monkeypatch.setenv(var, value)
    with pytest.raises(tracereel.ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        tracereel.configure()


def test_the_api_key_never_appears_in_errors(monkeypatch):
    from tracereel.sdk.settings import SETTINGS, ConfigError, Setting

    secret = Setting("x", "TRACEREEL_TEST_SECRET", None, int, "an integer", secret=True)
    monkeypatch.setitem(SETTINGS, "x", secret)
    monkeypatch.setenv("TRACEREEL_TEST_SECRET", "sk-live-123")
    with pytest.raises(ConfigError) as caught:
        resolve("x")
    assert "sk-live-123" not in str(caught.value)
    assert "TRACEREEL_TEST_SECRET" in str(caught.value)


class StuckExporter(SpanExporter):
    """An exporter whose network never answers until released: a collector that hangs."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.release.wait(30)
        self.exported += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.release.set()


def test_a_hung_collector_neither_blocks_the_agent_nor_grows_memory_and_drops_are_counted():
    exporter = StuckExporter()
    tracereel.configure(exporter=exporter, max_queue_size=20, max_export_batch_size=5, schedule_delay_millis=10)
    try:
        before = tracereel.dropped_spans()

        @tracereel.tool
        def step(i: int) -> int:
            return i

        # Runs to the end although the export thread is stuck: export is off the agent's thread.
        assert [step(i) for i in range(200)] == list(range(200))
        dropped = tracereel.dropped_spans() - before
        assert 200 - 20 - 5 <= dropped <= 200 - 20
        exporter.release.set()
        assert tracereel.flush(10)
        assert exporter.exported + dropped == 200
    finally:
        exporter.release.set()
        tracereel.shutdown()


def test_an_unreachable_collector_does_not_break_the_agent(unused_port):
    tracereel.configure(endpoint=f"http://127.0.0.1:{unused_port}", export_timeout_seconds=1, schedule_delay_millis=10)
    try:

        @tracereel.agent
        def agent(x: int) -> int:
            return x + 1

        assert [agent(i) for i in range(50)] == list(range(1, 51))
        tracereel.flush(5)  # the failed export is logged, not raised into the agent (raising fails the test)
    finally:
        tracereel.shutdown()


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(**env, PYTEST_CURRENT_TEST=""),
    )


def test_importing_tracereel_pulls_no_server_dependency():
    result = run_python(
        """
        import sys, tracereel
        heavy = {"fastapi", "uvicorn", "clickhouse_connect", "chdb", "streamlit", "plotly", "pandas", "pydantic"}
        loaded = sorted(heavy & {m.split(".")[0] for m in sys.modules})
        print(loaded)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_spans_still_queued_at_exit_are_flushed(collector):
    # A long schedule delay keeps the spans queued; only the exit hook can send them.
    result = run_python(
        """
        import tracereel

        @tracereel.agent(name="short_lived")
        def run(n):
            return n

        run(1)
        run(2)
        """,
        TRACEREEL_ENDPOINT=collector.url,
        TRACEREEL_SCHEDULE_DELAY_MILLIS="600000",
        OTEL_SERVICE_NAME="cron-job",
    )
    assert result.returncode == 0, result.stderr
    collector.wait_for_spans(2)
    with collector.client() as http:
        traces = http.get("/api/v1/traces", params={"service": "cron-job"}).json()["traces"]
    assert sorted(t["root_name"] for t in traces) == ["invoke_agent short_lived"] * 2

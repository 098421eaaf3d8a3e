"""Settings: one table, tracereel's variables over the standard OpenTelemetry ones, bounded exit."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

import tracereel
from tests.support import clean_env, closed_port
from tracereel.sdk import settings
from tracereel.sdk.settings import SETTINGS, ConfigError, collector_endpoint, headers, resolve, traces_url


def test_every_tracereel_variable_read_in_the_code_is_declared_in_the_table() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    declared = {s.env for s in SETTINGS.values()} | {env for s in SETTINGS.values() for env, _, _ in s.otel}
    read: set[str] = set()
    for folder in ("sdk", "replay", "dashboard", "tracereel"):
        for path in (root / folder).rglob("*.py"):
            read |= set(re.findall(r"environ(?:\.get)?\(\s*\"((?:TRACEREEL|OTEL)_[A-Z_]+)\"", path.read_text()))
    assert read <= declared, f"read outside the settings table: {sorted(read - declared)}"


def test_tracereel_variable_beats_otel_variable_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert traces_url() == "http://127.0.0.1:4318/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-base:4318/")
    assert traces_url() == "http://otel-base:4318/v1/traces"
    assert collector_endpoint() == "http://otel-base:4318"
    # The traces endpoint is used exactly as given (the OpenTelemetry specification says so).
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://gateway:8080/custom/traces")
    assert traces_url() == "http://gateway:8080/custom/traces"
    monkeypatch.setenv("TRACEREEL_ENDPOINT", "http://ours:4318")
    assert traces_url() == "http://ours:4318/v1/traces"
    assert traces_url("http://arg:1") == "http://arg:1/v1/traces"


def test_batch_processor_settings_fall_back_to_otel_bsp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "77")
    monkeypatch.setenv("OTEL_BSP_EXPORT_TIMEOUT", "2500")  # milliseconds, as the specification says
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "40")
    assert (resolve("max_queue_size"), resolve("export_timeout_seconds"), resolve("schedule_delay_millis")) == (
        77,
        2.5,
        40,
    )
    monkeypatch.setenv("TRACEREEL_MAX_QUEUE_SIZE", "9")
    assert resolve("max_queue_size") == 9
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "none")
    with pytest.raises(ConfigError, match="OTEL_BSP_MAX_EXPORT_BATCH_SIZE='none' is not valid: expected a positive"):
        resolve("max_export_batch_size")


def test_otlp_headers_are_sent_and_the_api_key_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "X-Tenant=acme,Authorization=Bearer%20from-otel")
    assert headers() == {"x-tenant": "acme", "authorization": "Bearer from-otel"}
    monkeypatch.setenv("TRACEREEL_API_KEY", "tr-key")
    assert headers() == {"x-tenant": "acme", "authorization": "Bearer tr-key"}
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-only-traces=1")
    assert headers()["x-only-traces"] == "1" and "x-tenant" not in headers()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "secret-token-without-equals")
    with pytest.raises(ConfigError) as caught:
        headers()
    assert "OTEL_EXPORTER_OTLP_TRACES_HEADERS=<hidden>" in str(caught.value)
    assert "secret-token" not in str(caught.value)


def test_flags_accept_the_usual_spellings_and_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for raw, value in [("0", False), ("off", False), ("Yes", True), ("1", True)]:
        monkeypatch.setenv("TRACEREEL_RECORD_NONDETERMINISM", raw)
        assert resolve("record_nondeterminism") is value
    monkeypatch.setenv("TRACEREEL_RECORD_NONDETERMINISM", "sometimes")
    with pytest.raises(ConfigError, match=r"TRACEREEL_RECORD_NONDETERMINISM='sometimes' is not valid: expected 1/"):
        tracereel.configure()
    assert settings.SETTINGS["record_nondeterminism"].default is True


@pytest.fixture
def silent_collector() -> Iterator[str]:
    """A port that accepts connections and never answers: a hung collector, with no race for the port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_flush_says_false_when_the_collector_does_not_answer(silent_collector: str) -> None:
    tracereel.configure(endpoint=silent_collector, export_timeout_seconds=1, schedule_delay_millis=600_000)
    try:

        @tracereel.tool
        def step(i: int) -> int:
            return i

        step(1)
        assert tracereel.flush(0.2) is False
    finally:
        tracereel.configure(exporter=_Discard())
        tracereel.shutdown()


def test_flush_says_true_once_everything_is_exported(spans) -> None:
    @tracereel.tool
    def step(i: int) -> int:
        return i

    step(1)
    assert tracereel.flush(10) is True
    assert [s.name for s in spans.get_finished_spans()] == ["execute_tool step"]


def test_a_short_script_with_the_collector_hung_exits_after_the_bound_with_one_line(silent_collector: str) -> None:
    env = clean_env(TRACEREEL_ENDPOINT=silent_collector, TRACEREEL_EXIT_FLUSH_TIMEOUT="0.3", PYTEST_CURRENT_TEST="")
    code = """
        import tracereel

        @tracereel.agent(name="cron")
        def run() -> int:
            return 1

        run()
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{silent_collector}/v1/traces" in lines[0]
    assert "waited at most 0.3 s" in lines[0] and "TRACEREEL_EXIT_FLUSH_TIMEOUT" in lines[0]


def test_a_short_script_with_the_collector_down_does_not_wait_for_retries() -> None:
    with closed_port() as port:
        refused = f"http://127.0.0.1:{port}"
        # A bound far beyond any test timeout: only giving up on the refusal lets the script end.
        env = clean_env(TRACEREEL_ENDPOINT=refused, TRACEREEL_EXIT_FLUSH_TIMEOUT="100000", PYTEST_CURRENT_TEST="")
        result = subprocess.run(
            [sys.executable, "-c", "import tracereel\ntracereel.agent(lambda: 1)()"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
    assert result.returncode == 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{refused}/v1/traces" in lines[0], result.stderr


class _Discard:
    def export(self, spans: object) -> object:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 0) -> bool:
        return True

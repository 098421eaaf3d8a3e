"""A short serve/ingest/query check for one Python: ``python tests/smoke.py`` (``./dev smoke`` runs it on each).

It imports the package (``tracereel``, ``tracereel.collector``, the client), starts
``tracereel serve`` on a free port of 127.0.0.1 over a temporary chDB store, sends spans with the
stock OpenTelemetry SDK and OTLP/HTTP exporter, and reads them back through the API. Standard
library and the installed packages only: no pytest, so it runs in a bare venv of any Python.
Exit 0 when the spans came back, 1 otherwise, with one line saying what went wrong.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SERVICE = "smoke"
SPANS = 3
DEADLINE = 120.0  # seconds for the collector to start, and again for the spans to come back


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(check: Callable[[], bool], what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"smoke: tracereel serve exited ({process.returncode}) while waiting for {what}")
        if check():
            return
        time.sleep(0.2)
    raise SystemExit(f"smoke: gave up waiting for {what} after {DEADLINE:g} s")


def main() -> int:
    """Run the check; 0 if it passed."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    import tracereel
    import tracereel.collector  # fails on a Python whose imports break: the point of the check
    from tracereel.client import CollectorClient, CollectorError

    with tempfile.TemporaryDirectory(prefix="tracereel-smoke-") as tmp:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEREEL_", "OTEL_"))}
        env.update(TRACEREEL_GRPC_PORT="0", XDG_DATA_HOME=tmp, XDG_CACHE_HOME=tmp)
        command = [sys.executable, "-m", "tracereel", "serve", "--port", str(port), "--store", f"chdb://{tmp}/store"]
        log = Path(tmp, "serve.log").open("wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            client = CollectorClient(url, timeout=10)

            def healthy() -> bool:
                try:
                    client.health()
                except CollectorError:
                    return False
                return True

            _wait(healthy, f"{url}/healthz", process)
            provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
            provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
            tracer = provider.get_tracer("smoke")
            for i in range(SPANS):
                with tracer.start_as_current_span(f"task {i}"):
                    pass
            provider.shutdown()
            _wait(lambda: len(client.traces(service=SERVICE, limit=10)) >= SPANS, f"{SPANS} traces", process)
        except BaseException:
            log.flush()
            sys.stderr.write(Path(tmp, "serve.log").read_text(errors="replace")[-2000:])
            raise
        finally:
            process.terminate()
            process.wait(30)
            log.close()
    print(f"smoke: Python {sys.version.split()[0]}: tracereel {tracereel.__version__} served, ingested and read back")
    return 0


if __name__ == "__main__":
    sys.exit(main())

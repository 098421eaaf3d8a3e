"""``tracereel gate --kill-on-fail`` with keys: a failed gate that cannot flip the switch says so and exits 3.

Its own module: it needs a collector with keys over a store of its own, and chDB opens one
store per process (test_compare.py's module-wide collector holds another).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from canary_traffic import Version, send
from click.testing import CliRunner

from tests.collector.otel_client import OtelClient
from tests.conftest import start_collector
from tests.support import wait_until
from tracereel.cli import main


@dataclass
class KeyedCollector:
    """A collector that wants keys, as OtelClient needs it: every request sends ``key``."""

    url: str
    app: Any
    key: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, headers={"authorization": f"Bearer {self.key}"})

    def wait_for_spans(self, count: int) -> None:
        drainer = self.app.state.drainer
        wait_until(lambda: drainer.stored_spans >= count, f"the collector to store {count} spans")


def test_kill_on_fail_that_cannot_flip_the_switch_exits_3(store):
    # A team's read key may ask for the verdict but not flip switches: the failed gate says so, exit 3.
    running, _ = start_collector(store, admin_key="admin-secret")
    try:
        admin = KeyedCollector(running.url, running.app, "admin-secret")
        with admin.client() as http:
            keys = {
                role: http.post("/api/v1/keys", json={"team": "t", "role": role}).json()["key"]
                for role in ("ingest", "read")
            }
        otel = OtelClient(KeyedCollector(running.url, running.app, keys["ingest"]), batch=True)
        send(otel, Version("1.0", 200), Version("2.0-bad", 100, success=0.5, loops=0.2, latency_ms=1200))
        otel.shutdown()
        argv = ["gate", "--agent", "support", "--canary", "2.0-bad", "--baseline", "1.0", "--kill-on-fail"]
        result = CliRunner(env={"TRACEREEL_API_KEY": keys["read"]}).invoke(main, [*argv, "--collector", running.url])
    finally:
        running.stop()
    assert result.exit_code == 3, result.output
    assert "fail: task_success_rate is significantly worse" in result.output
    assert "the gate failed, but the canary's kill switch could not be flipped" in result.output

"""Real `tracereel serve` processes: kill -9 mid-drain loses nothing acknowledged and doubles nothing; readable 413s."""

from __future__ import annotations

import os
import signal
import socket
import threading
from pathlib import Path

import httpx
import pytest

from tests.collector.otlp_payloads import protobuf_request
from tests.e2e.test_cli_collector import cli
from tests.support import claim_port, migrated_store, wait_healthy, wait_until

pytestmark = pytest.mark.e2e

PB = {"content-type": "application/x-protobuf"}
SPANS_PER_TRACE = 5


def _trace(n: int) -> tuple[str, bytes]:
    trace = f"{n + 1:032x}"
    spans = [{"trace_id": trace, "span_id": f"{n + 1:08x}{i + 1:08x}"} for i in range(SPANS_PER_TRACE)]
    return trace, protobuf_request(spans)


def test_kill_9_mid_drain_loses_nothing_acknowledged_and_stores_nothing_twice(tmp_path: Path) -> None:
    store = migrated_store(tmp_path / "store")
    port = claim_port()
    url = f"http://127.0.0.1:{port}"
    # A short drain interval: many inserts while the senders run, so the kill lands mid-drain.
    first = cli("serve", "--port", str(port), "--store", store, new_session=True, TRACEREEL_DRAIN_INTERVAL="0.05")
    wait_healthy(url, first)
    acked: list[str] = []
    stop = threading.Event()

    def send(offset: int) -> None:
        n = offset
        with httpx.Client(base_url=url, timeout=10) as http:
            while not stop.is_set():
                trace, body = _trace(n)
                n += 4
                try:
                    if http.post("/v1/traces", content=body, headers=PB).status_code == 200:
                        acked.append(trace)
                except httpx.HTTPError:
                    return  # the collector is gone; this request was never acknowledged

    senders = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for sender in senders:
        sender.start()
    try:
        wait_until(lambda: len(acked) >= 200, "200 requests acknowledged", timeout=120)
        os.killpg(first.pid, signal.SIGKILL)  # the collector and its parse workers, at once
        first.wait(30)
    finally:
        stop.set()
        for sender in senders:
            sender.join(30)
    acknowledged = list(acked)

    port = claim_port()
    url = f"http://127.0.0.1:{port}"
    second = cli("serve", "--port", str(port), "--store", store)
    try:
        wait_healthy(url, second)
        with httpx.Client(base_url=url, timeout=30) as http:
            # Reads wait for what the log held at start; every acknowledged trace is there, once.
            for trace in acknowledged:
                spans = http.get(f"/api/v1/traces/{trace}").json()["spans"]
                ids = [s["span_id"] for s in spans]
                assert len(ids) == SPANS_PER_TRACE == len(set(ids)), (trace, ids)
            listed = http.get("/api/v1/traces", params={"from": "0", "limit": 1000}).json()["traces"]
            listed_ids = [t["trace_id"] for t in listed]
            assert len(listed_ids) == len(set(listed_ids)) >= len(acknowledged)
            health = http.get("/healthz").json()
            assert health["log"]["depth_records"] == 0
    finally:
        second.send_signal(signal.SIGINT)
        second.communicate(timeout=60)


def test_a_body_over_the_limit_gets_a_413_the_client_can_read(tmp_path: Path) -> None:
    # The client sends its whole body before reading: an early reset would lose the answer.
    port = claim_port()
    process = cli(
        "serve", "--port", str(port), "--store", migrated_store(tmp_path / "store"), TRACEREEL_MAX_BODY_BYTES="1000"
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        body = b"x" * 200_000
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            head = (
                f"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            conn.sendall(head.encode())
            for i in range(0, len(body), 8192):
                conn.sendall(body[i : i + 8192])
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
        assert b"connection: close" in rest.lower()
        assert b"larger than the limit of 1000 bytes" in rest
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)

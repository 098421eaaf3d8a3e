"""What the monitor tests share: a local webhook receiver, and synthetic agent tasks sent over OTLP.

The receiver stands in for PagerDuty, Slack or any webhook (services we do not own): an HTTP
server on 127.0.0.1 in a thread that records every request and answers from a script (say 500
twice, then 202), so retries, backoff and permanent failures can be driven exactly.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.collector.otlp_payloads import protobuf_request

__all__ = ["Received", "Receiver", "receiver", "send_tasks"]


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    body: Any
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival


@dataclass
class Receiver:
    """A recording HTTP receiver: ``url(path)`` to point monitors at, ``requests`` as they came."""

    base: str
    requests: list[Received] = field(default_factory=list)
    # Answers to give, in order, as (status, headers); then ``default``.
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    default: int = 202
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Requests to these paths get no answer until ``release`` is set (a receiver that hangs).
    held: set[str] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str = "/hook") -> str:
        """The URL of ``path`` on the receiver."""
        return self.base + path

    def bodies(self, path: str | None = None) -> list[Any]:
        """The JSON bodies received (on ``path`` only, if given), oldest first."""
        with self.lock:
            return [r.body for r in self.requests if path is None or r.path == path]

    def count(self, path: str | None = None) -> int:
        """How many requests came (on ``path``)."""
        return len(self.bodies(path))

    def answer(self, *statuses: int | tuple[int, dict[str, str]]) -> None:
        """Answer the next requests with ``statuses`` (a status, or a status and headers), then ``default``."""
        with self.lock:
            self.script.extend(s if isinstance(s, tuple) else (s, {}) for s in statuses)


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A :class:`Receiver` listening on 127.0.0.1 for the block."""
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            rec = state["receiver"]
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            with rec.lock:
                rec.requests.append(
                    Received(
                        self.path, json.loads(raw), {k.lower(): v for k, v in self.headers.items()}, time.monotonic()
                    )
                )
                status, headers = rec.script.pop(0) if rec.script else (rec.default, {})
            if self.path in rec.held:
                rec.release.wait()
            answer = json.dumps({"status": "success" if status < 300 else "error"}).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield state["receiver"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def send_tasks(
    collector_url: str,
    count: int,
    *,
    success: bool,
    agent: str = "pager",
    version: str = "1.0",
    service: str = "support-prod",
) -> None:
    """Send ``count`` finished agent tasks (one root span each) that started a second ago, over OTLP/HTTP."""
    start = time.time_ns() - 1_000_000_000
    spans = []
    for _ in range(count):
        spans.append(
            {
                "trace_id": os.urandom(16).hex(),
                "span_id": os.urandom(8).hex(),
                "name": f"invoke_agent {agent}",
                "start": start,
                "end": start + 200_000_000,
                "status": 1 if success else 2,
                "attributes": {
                    "gen_ai.operation.name": "invoke_agent",
                    "gen_ai.agent.name": agent,
                    "gen_ai.agent.version": version,
                    "tracereel.task.success": success,
                },
            }
        )
    answer = httpx.post(
        f"{collector_url}/v1/traces",
        content=protobuf_request(spans, service=service),
        headers={"content-type": "application/x-protobuf"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text

"""A local OpenAI-compatible chat completions server: the one edge we do not own, faked for tests and benches.

    with FakeOpenAI(lambda request: "refunded 40 EUR", latency=0.1) as llm:
        url = llm.base_url  # http://127.0.0.1:PORT/v1, what an OpenAI client takes as base_url
        ...
        llm.requests  # every request body received, in order

``POST /v1/chat/completions`` answers ``{"id", "object", "model", "choices": [{"message":
{"role": "assistant", "content": ...}}], "usage": {...}}`` with the content the responder returns
for the request body. A responder may return a dict to answer a whole response body instead, or
raise to answer 500. Requests without ``Authorization: Bearer <key>`` get 401 when ``api_key`` is
set. Threaded, bound to 127.0.0.1 on a port the kernel picks (no race).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeOpenAI", "Responder"]

Responder = Callable[[dict[str, Any]], "str | dict[str, Any]"]


def _echo(request: dict[str, Any]) -> str:
    messages = request.get("messages") or [{}]
    return f"echo: {messages[-1].get('content', '')}"


class FakeOpenAI:
    """A fake OpenAI-compatible server on 127.0.0.1; use as a context manager."""

    def __init__(self, responder: Responder = _echo, *, latency: float = 0.0, api_key: str | None = None) -> None:
        self.responder = responder
        self.latency = latency
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)

    @property
    def base_url(self) -> str:
        """The ``/v1`` base URL an OpenAI client takes."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                if fake.api_key and self.headers.get("authorization") != f"Bearer {fake.api_key}":
                    self._send(401, {"error": {"message": "invalid api key"}})
                    return
                length = int(self.headers.get("content-length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake.requests.append(request)
                if fake.latency:
                    time.sleep(fake.latency)  # the provider's own latency, which the fake stands in for
                try:
                    answer = fake.responder(request)
                except Exception as exc:
                    self._send(500, {"error": {"message": str(exc)}})
                    return
                if isinstance(answer, dict):
                    self._send(200, answer)
                    return
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{len(fake.requests)}",
                        "object": "chat.completion",
                        "model": request.get("model", "fake"),
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                    },
                )

        return Handler

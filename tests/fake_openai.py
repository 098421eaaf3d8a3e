"""A local OpenAI-compatible server: the one edge we do not own, faked for tests and benches.

    with FakeOpenAI(lambda request: "refunded 40 EUR", latency=0.1) as llm:
        url = llm.base_url  # http://127.0.0.1:PORT/v1, what an OpenAI client takes as base_url
        ...
        llm.requests  # every request body received, in order

``POST /v1/chat/completions`` answers ``{"id", "object", "model", "choices": [{"message":
{"role": "assistant", "content": ...}}], "usage": {...}}`` with the content the responder returns
for the request body. ``POST /v1/responses`` answers a Responses API ``response`` whose one
output message holds that text. A responder may return a dict to answer a whole response body
instead (for ``/responses``, a dict with ``output`` items — e.g. :func:`function_call` — gets the
other fields filled in), or raise to answer 500. With ``"stream": true`` in the request the same
answer is sent as server-sent events, the way the API streams it (chat chunks ending in
``[DONE]``, with a usage chunk when ``stream_options.include_usage``; typed ``response.*`` events
ending in ``response.completed``). Requests without ``Authorization: Bearer <key>`` get 401 when
``api_key`` is set. Threaded, bound to 127.0.0.1 on a port the kernel picks (no race).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeOpenAI", "FakeServer", "Responder", "chat_tool_call_then", "function_call"]

Responder = Callable[[dict[str, Any]], "str | dict[str, Any]"]
USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def _echo(request: dict[str, Any]) -> str:
    messages = request.get("messages") or request.get("input") or [{}]
    if isinstance(messages, str):
        return f"echo: {messages}"
    last = messages[-1]
    content = last.get("content", "") if isinstance(last, dict) else ""
    return f"echo: {content}"


def chat_tool_call_then(answer: str, name: str, arguments: dict[str, Any]) -> Responder:
    """Chat completions: a call of tool ``name`` when tools are offered and no tool result came back
    yet; then ``answer``."""

    def respond(request: dict[str, Any]) -> str | dict[str, Any]:
        if request.get("tools") and not any(m.get("role") == "tool" for m in request.get("messages") or []):
            call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
            return {
                "id": "chatcmpl-tool",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": request["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                        "finish_reason": "tool_calls",
                    }
                ],
                "usage": {"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38},
            }
        return answer

    return respond


def function_call(name: str, arguments: dict[str, Any], call_id: str = "call_1") -> dict[str, Any]:
    """A Responses API output item asking for a function call (what an agent's model answers)."""
    return {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": json.dumps(arguments),
        "status": "completed",
    }


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 that routes POSTs to ``answer``; use as a context manager."""

    name = "fake"

    def __init__(self, responder: Responder, *, latency: float = 0.0, api_key: str | None = None) -> None:
        self.responder = responder
        self.latency = latency
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.name, daemon=True)

    @property
    def base_url(self) -> str:
        """The ``/v1`` base URL an OpenAI client takes."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> Any:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and free the port (idempotent): later requests are refused."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def authorized(self, headers: Any) -> bool:
        """Whether the request carries the key (always, when the fake has none)."""
        return not self.api_key or headers.get("authorization") == f"Bearer {self.api_key}"

    def route(self, path: str, request: dict[str, Any], answer: str | dict[str, Any]) -> Any:
        """The body (a dict) or the server-sent events (a list of (event, data)) answering ``request``."""
        raise NotImplementedError

    def routes(self) -> tuple[str, ...]:
        """The paths this fake answers."""
        raise NotImplementedError

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

            def _stream(self, events: Iterable[tuple[str | None, str]]) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                for event, data in events:
                    head = f"event: {event}\n" if event else ""
                    self.wfile.write(f"{head}data: {data}\n\n".encode())
                    self.wfile.flush()
                self.close_connection = True

            def do_POST(self) -> None:
                path = self.path.split("?")[0].rstrip("/")
                route = next((r for r in fake.routes() if path.endswith(r)), None)
                if route is None:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                if not fake.authorized(self.headers):
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
                out = fake.route(route, request, answer)
                if isinstance(out, list):
                    self._stream(out)
                else:
                    self._send(200, out)

        return Handler


class FakeOpenAI(FakeServer):
    """A fake OpenAI server (chat completions and responses, streaming included) on 127.0.0.1."""

    name = "fake-openai"

    def __init__(self, responder: Responder = _echo, *, latency: float = 0.0, api_key: str | None = None) -> None:
        super().__init__(responder, latency=latency, api_key=api_key)

    def __enter__(self) -> FakeOpenAI:
        super().__enter__()
        return self

    def routes(self) -> tuple[str, ...]:
        return ("/chat/completions", "/responses")

    def route(self, path: str, request: dict[str, Any], answer: str | dict[str, Any]) -> Any:
        n = len(self.requests)
        if path == "/responses":
            body = _response_body(request, answer, n)
            return _response_events(body) if request.get("stream") else body
        if isinstance(answer, dict):
            body = answer
        else:
            body = {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": 1_700_000_000 + n,
                "model": request.get("model", "fake"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
                "usage": dict(USAGE),
            }
        return _chat_events(request, body) if request.get("stream") else body


def _chat_events(request: dict[str, Any], body: dict[str, Any]) -> list[tuple[str | None, str]]:
    message = body["choices"][0]["message"]
    base = {
        "id": body["id"],
        "object": "chat.completion.chunk",
        "created": body.get("created", 0),
        "model": body["model"],
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[None, str]:
        return None, json.dumps({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    events = [chunk({"role": "assistant", "content": ""})]
    text = message.get("content") or ""
    events += [chunk({"content": text[i : i + 4]}) for i in range(0, len(text), 4)]
    for i, call in enumerate(message.get("tool_calls") or []):
        events.append(chunk({"tool_calls": [{"index": i, **call}]}))
    events.append(chunk({}, body["choices"][0].get("finish_reason", "stop")))
    if (request.get("stream_options") or {}).get("include_usage"):
        events.append((None, json.dumps({**base, "choices": [], "usage": body.get("usage", USAGE)})))
    events.append((None, "[DONE]"))
    return events


def _response_body(request: dict[str, Any], answer: str | dict[str, Any], n: int) -> dict[str, Any]:
    if isinstance(answer, str):
        output: list[dict[str, Any]] = [
            {
                "type": "message",
                "id": f"msg_{n}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": answer, "annotations": []}],
            }
        ]
        answer = {"output": output}
    return {
        "id": f"resp_{n}",
        "object": "response",
        "created_at": 1_700_000_000 + n,
        "model": request.get("model", "fake"),
        "status": "completed",
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 10,
            "output_tokens": 5,
            "total_tokens": 15,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
        **answer,
    }


def _response_events(body: dict[str, Any]) -> list[tuple[str | None, str]]:
    seq = iter(range(1_000_000))
    events: list[tuple[str | None, str]] = []

    def emit(kind: str, **data: Any) -> None:
        events.append((kind, json.dumps({"type": kind, "sequence_number": next(seq), **data})))

    emit("response.created", response={**body, "status": "in_progress", "output": []})
    for index, item in enumerate(body["output"]):
        emit("response.output_item.added", output_index=index, item=item)
        for part in item.get("content") or []:
            text = part.get("text", "")
            for i in range(0, len(text), 4):
                emit(
                    "response.output_text.delta",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    delta=text[i : i + 4],
                    logprobs=[],
                )
        emit("response.output_item.done", output_index=index, item=item)
    emit("response.completed", response=body)
    return events

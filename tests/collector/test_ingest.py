"""POST /v1/traces from clients that are not ours: the stock OpenTelemetry SDK, and OTLP/JSON."""

from __future__ import annotations

import gzip

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from tests.collector.otlp_payloads import CHILD, ROOT, T0, TRACE, json_request, protobuf_request
from tracereel.collector.ingest import ParsePool

PB_HEADERS = {"content-type": "application/x-protobuf"}


def stock_provider(url: str, compression: Compression = Compression.NoCompression) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "plain-otel", "deployment.environment": "ci"}))
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", compression=compression)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def test_a_plain_opentelemetry_client_with_genai_attributes_is_stored_and_classified(collector):
    provider = stock_provider(collector.url, Compression.Gzip)
    tracer = provider.get_tracer("my.instrumentation", "9.9")
    with tracer.start_as_current_span(
        "invoke_agent travel", attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "travel"}
    ) as root:
        with tracer.start_as_current_span(
            "chat gpt-4o",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 120,
                "gen_ai.usage.output_tokens": 30,
                "gen_ai.request.temperature": 0.5,
                "gen_ai.request.stop_sequences": ["\n", "END"],
                "llm.streaming": True,
            },
        ):
            pass
        with tracer.start_as_current_span(
            "execute_tool book_flight",
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "book_flight"},
            links=[Link(root.get_span_context(), {"why": "follows"})],
        ) as tool:
            tool.add_event("retrying", {"attempt": 1})
            tool.set_status(Status(StatusCode.ERROR, "seat sold out"))
    provider.shutdown()
    collector.wait_for_spans(3)

    with collector.client() as http:
        listed = http.get("/api/v1/traces", params={"service": "plain-otel"}).json()["traces"]
        assert len(listed) == 1
        summary = listed[0]
        assert summary["root_name"] == "invoke_agent travel"
        assert summary["agent_name"] == "travel"
        assert summary["span_count"] == 3
        assert summary["error_count"] == 1
        assert summary["input_tokens"] == 120
        trace_id = summary["trace_id"]
        assert trace_id == format(root.get_span_context().trace_id, "032x")
        detail = http.get(f"/api/v1/traces/{trace_id}").json()

    spans = {s["name"]: s for s in detail["spans"]}
    assert {s["kind"] for s in detail["spans"]} == {"agent", "llm", "tool"}
    chat = spans["chat gpt-4o"]
    assert chat["kind"] == "llm"
    assert chat["span_kind"] == "Client"
    assert chat["parent_span_id"] == spans["invoke_agent travel"]["span_id"]
    assert spans["invoke_agent travel"]["parent_span_id"] == ""
    assert chat["attributes"]["gen_ai.usage.input_tokens"] == "120"
    assert chat["attributes"]["gen_ai.request.temperature"] == "0.5"
    assert chat["attributes"]["gen_ai.request.stop_sequences"] == '["\\n","END"]'
    assert chat["attributes"]["llm.streaming"] == "true"
    assert chat["resource_attributes"]["deployment.environment"] == "ci"
    assert chat["scope_name"] == "my.instrumentation"
    tool_span = spans["execute_tool book_flight"]
    assert tool_span["status_code"] == "ERROR"
    assert tool_span["status_message"] == "seat sold out"
    assert tool_span["events"][0]["name"] == "retrying"
    assert tool_span["events"][0]["attributes"] == {"attempt": "1"}
    assert tool_span["links"][0]["span_id"] == spans["invoke_agent travel"]["span_id"]
    assert tool_span["links"][0]["attributes"] == {"why": "follows"}
    # The stored times are the client's own, to the nanosecond.
    assert tool_span["start_time_unix_nano"] == tool.start_time
    assert tool_span["duration_ns"] == tool.end_time - tool.start_time
    assert all(len(s["span_id"]) == 16 and s["span_id"] == s["span_id"].lower() for s in detail["spans"])


def test_openinference_span_kinds_and_names_classify_spans(asgi_collector):
    body = protobuf_request(
        [
            {"span_id": ROOT, "name": "Agent", "attributes": {"openinference.span.kind": "AGENT"}},
            {"span_id": CHILD, "parent": ROOT, "name": "ChatOpenAI", "attributes": {"openinference.span.kind": "LLM"}},
            {
                "span_id": "0000000000000003",
                "parent": ROOT,
                "name": "guard",
                "attributes": {"openinference.span.kind": "GUARDRAIL"},
            },
            {"span_id": "0000000000000004", "parent": ROOT, "name": "execute_tool lookup"},
            {"span_id": "0000000000000005", "parent": ROOT, "name": "db.query"},
        ]
    )
    with asgi_collector.client() as http:
        response = http.post("/v1/traces", content=body, headers={"content-type": "application/x-protobuf"})
        assert response.status_code == 200
        detail = http.get(f"/api/v1/traces/{TRACE}").json()
    kinds = {s["name"]: s["kind"] for s in detail["spans"]}
    assert kinds == {
        "Agent": "agent",
        "ChatOpenAI": "llm",
        "guard": "guardrail",
        "execute_tool lookup": "tool",
        "db.query": "other",
    }


def test_otlp_json_with_hex_ids_string_int64_and_gzip(asgi_collector):
    spans = [
        {
            "traceId": TRACE.upper(),  # hex ids in any case are stored lowercase
            "spanId": ROOT,
            "name": "invoke_agent support",
            "kind": 1,
            "startTimeUnixNano": str(T0),
            "endTimeUnixNano": str(T0 + 2_500_000),
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}},
                {"key": "retries", "value": {"intValue": "3"}},
                {"key": "ratio", "value": {"doubleValue": 0.25}},
            ],
            "status": {"code": 2, "message": "boom"},
        }
    ]
    with asgi_collector.client() as http:
        response = http.post(
            "/v1/traces",
            content=gzip.compress(json_request(spans)),
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        detail = http.get(f"/api/v1/traces/{TRACE}").json()
    (span,) = detail["spans"]
    assert span["span_id"] == ROOT
    assert span["start_time_unix_nano"] == T0
    assert span["duration_ns"] == 2_500_000
    assert span["status_code"] == "ERROR"
    assert span["kind"] == "agent"
    assert span["attributes"]["retries"] == "3"
    assert span["attributes"]["ratio"] == "0.25"


def test_many_concurrent_requests_are_written_in_few_inserts(collector):
    from concurrent.futures import ThreadPoolExecutor

    def send(i: int) -> int:
        body = protobuf_request([{"trace_id": f"{i + 1:032x}", "span_id": f"{i + 1:016x}"}])
        with collector.client() as http:
            return http.post("/v1/traces", content=body, headers={"content-type": "application/x-protobuf"}).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(send, range(64)))
    assert statuses == [200] * 64
    collector.wait_for_spans(64)
    drainer = collector.app.state.drainer
    assert drainer.stored_spans == 64
    assert drainer.inserts < 64 / 4


def test_a_read_sees_every_span_acknowledged_before_it(asgi_collector_factory):
    # A 200 means the spans are in the write-ahead log. With inserts held back for an hour, the
    # second request's spans are stored only because the reads ask for them (read after write).
    running = asgi_collector_factory(drain_interval=3600)
    with running.client() as http:
        for name, span in (("first", ROOT), ("second", CHILD)):
            body = protobuf_request([{"span_id": span, "name": name}])
            assert http.post("/v1/traces", content=body, headers=PB_HEADERS).status_code == 200
            names = {s["name"] for s in http.get(f"/api/v1/traces/{TRACE}").json()["spans"]}
            assert name in names
        assert http.get("/api/v1/traces").json()["traces"][0]["span_count"] == 2


def test_parse_worker_processes_store_good_requests_and_name_bad_ones(asgi_collector_factory):
    running = asgi_collector_factory(parser=ParsePool(1))
    with running.client() as http:
        good = http.post("/v1/traces", content=protobuf_request([{"span_id": ROOT}]), headers=PB_HEADERS)
        assert good.status_code == 200
        bad = http.post("/v1/traces", content=protobuf_request([{"span_id": "0102"}]), headers=PB_HEADERS)
        assert bad.status_code == 400
        bomb = http.post(
            "/v1/traces",
            content=gzip.compress(bytes(40 * 1024 * 1024)),
            headers={**PB_HEADERS, "content-encoding": "gzip"},
        )
        assert bomb.status_code == 413
        detail = http.get(f"/api/v1/traces/{TRACE}").json()
    assert [s["span_id"] for s in detail["spans"]] == [ROOT]

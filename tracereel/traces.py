"""The trace JSON contract, and reading it: span kind, status and the span tree, each written once.

``GET /api/v1/traces/{id}`` serves a :class:`Trace`; ``tracereel export`` writes a
:class:`TraceFile` (the same, plus ``format`` and ``source``); replay, ``tracereel show`` and the
dashboard consume both. Traces may also come from files other tools wrote, so the readers here
accept every spelling of a status or span kind seen in the wild (OTLP enum numbers, the
OpenTelemetry Collector's ``STATUS_CODE_ERROR`` and ``Error``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

# pydantic validates these shapes (tracereel/contracts/traces.py); before Python 3.12 it needs this TypedDict.
from typing_extensions import TypedDict

from tracereel import semconv as sc

__all__ = [
    "FILE_FORMAT",
    "SCORE_NAME_PATTERN",
    "TRACE_ID_PATTERN",
    "Kind",
    "ScoreJSON",
    "SpanEvent",
    "SpanJSON",
    "SpanLink",
    "SpanNode",
    "Status",
    "Trace",
    "TraceFile",
    "TraceSummary",
    "build_tree",
    "check_score_name",
    "is_error",
    "parse_trace_id",
    "span_kind",
    "status",
    "walk",
]

FILE_FORMAT: Final = "tracereel-trace/1"
# A trace id as the store keeps it: 32 lower-case hex digits (W3C trace context, OTLP's 16 bytes).
TRACE_ID_PATTERN: Final = re.compile(r"[0-9a-f]{32}")

Kind = Literal["agent", "llm", "tool", "guardrail", "other"]
Status = Literal["OK", "ERROR", "UNSET"]


class SpanEvent(TypedDict):
    """An event on a span (e.g. ``exception``)."""

    name: str
    time_unix_nano: int
    attributes: dict[str, str]


class SpanLink(TypedDict):
    """A link from a span to another trace's span."""

    trace_id: str
    span_id: str
    attributes: dict[str, str]


class _SpanId(TypedDict):
    span_id: str


class SpanJSON(_SpanId, total=False):
    """One span as the read API serves it. Attribute values are strings (the store keeps a string map)."""

    parent_span_id: str  # "" for a root
    name: str
    kind: Kind  # the collector's classification
    start_time_unix_nano: int
    duration_ns: int
    status_code: str  # OK / ERROR / UNSET from the collector; other spellings in foreign files
    status_message: str
    span_kind: str  # OpenTelemetry SpanKind (Internal, Server, ...)
    service_name: str
    scope_name: str
    attributes: dict[str, Any]
    resource_attributes: dict[str, str]
    events: list[SpanEvent]
    links: list[SpanLink]
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # LLM spans: explicit or from the price table; None if unpriced or not an LLM span


# A score's name is read back in expressions (``score.groundedness < 0.5``, a monitor's or the gate's
# ``score.NAME``), so it is an identifier: letters, digits, _ . - and starting with a letter.
SCORE_NAME_PATTERN: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")


def check_score_name(value: str) -> str:
    """``value`` if it is a valid score name; ValueError saying what one is otherwise."""
    if not SCORE_NAME_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a score name: a letter, then up to 99 letters, digits or _ . -")
    return value


class ScoreJSON(TypedDict):
    """One judgement of a trace (DESIGN.md "Production loop"): SDK, feedback, online rule, review or API."""

    id: str  # the score's key: posting the same id again replaces it, so a retry is never counted twice
    trace_id: str
    name: str
    value: float
    label: str | None
    comment: str | None
    source: str  # sdk | feedback | online:RULE | review:QUEUE | api
    author: str | None
    time: str  # ISO 8601, UTC


class _TraceBase(TypedDict):
    trace_id: str
    spans: list[SpanJSON]


class Trace(_TraceBase, total=False):
    """``GET /api/v1/traces/{trace_id}``: every span of one trace, oldest first, and its scores, oldest first.

    ``scores`` is absent from files other tools wrote; the collector always sends it.
    """

    scores: list[ScoreJSON]


class TraceFile(Trace, total=False):
    """What ``tracereel export`` writes: a :class:`Trace` with the file format and where it came from."""

    format: str  # FILE_FORMAT
    source: str | None  # the collector URL it was read from


class TraceSummary(TypedDict, total=False):
    """One row of ``GET /api/v1/traces``."""

    trace_id: str
    root_name: str
    service_name: str
    agent_name: str
    agent_version: str
    status_code: Status
    status_message: str
    replay_of: str  # a replay: the trace it replayed ("" otherwise)
    eval_run_id: str  # an eval case's run: the eval run it belongs to ("" otherwise)
    complete: bool  # False: the run never finished (no root span arrived)
    start_time: str  # ISO 8601, UTC
    start_time_unix_nano: int
    duration_ms: float
    span_count: int
    error_count: int
    steps: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    cost_coverage: float | None
    task_success: bool | None


_ERROR_SPELLINGS: Final = frozenset({"ERROR", "STATUS_CODE_ERROR", "2"})
_OK_SPELLINGS: Final = frozenset({"OK", "STATUS_CODE_OK", "1"})


def status(span: Mapping[str, Any]) -> Status:
    """The span's status as OK, ERROR or UNSET, whatever spelling the producer used."""
    raw = str(span.get("status_code", "")).strip().upper()
    if raw in _ERROR_SPELLINGS:
        return "ERROR"
    if raw in _OK_SPELLINGS:
        return "OK"
    return "UNSET"


def is_error(span: Mapping[str, Any]) -> bool:
    """Whether the span ended in ERROR."""
    return status(span) == "ERROR"


_BY_OPERATION: Final[dict[str, Kind]] = {
    "invoke_agent": "agent",
    "create_agent": "agent",
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "embeddings": "llm",
    "execute_tool": "tool",
}
_BY_OPENINFERENCE: Final[dict[str, Kind]] = {
    "AGENT": "agent",
    "LLM": "llm",
    "EMBEDDING": "llm",
    "TOOL": "tool",
    "GUARDRAIL": "guardrail",
}
_BY_NAME_PREFIX: Final[tuple[tuple[str, Kind], ...]] = (
    ("invoke_agent", "agent"),
    ("chat ", "llm"),
    ("text_completion ", "llm"),
    ("execute_tool", "tool"),
    ("guardrail", "guardrail"),
)


_HANDOFF_TOOL_PREFIX: Final = "transfer_to_"
_LLM_OPERATIONS: Final = frozenset(op for op, kind in _BY_OPERATION.items() if kind == "llm")


def _is_handoff(name: str, attrs: Mapping[str, Any]) -> bool:
    """Another instrumentation's handoff to a sub-agent (collector/store/migrations.py ``_HANDOFF``)."""
    if name.startswith("handoff to "):
        return True  # OpenInference's Agents SDK handoff span
    operation = str(attrs.get(sc.OPERATION_NAME, ""))
    openinference = str(attrs.get(sc.OPENINFERENCE_SPAN_KIND, ""))
    if operation == sc.OP_EXECUTE_TOOL or openinference == "TOOL":
        names = (
            str(attrs.get(sc.TOOL_NAME, "")),
            str(attrs.get("tool.name", "")),
            name,
            name.removeprefix(f"{sc.OP_EXECUTE_TOOL} "),
        )
        if any(n.startswith(_HANDOFF_TOOL_PREFIX) for n in names):
            return True
    return (
        str(attrs.get(sc.GRAPH_NODE_PARENT_ID, "")) != ""
        and openinference in ("AGENT", "CHAIN", "TOOL", "")
        and operation not in _LLM_OPERATIONS
    )


def span_kind(span: Mapping[str, Any]) -> Kind:
    """agent / llm / tool / guardrail / other: the collector's ``kind`` if present, else classified
    like the collector does (another instrumentation's handoff is an agent span; then the GenAI
    operation, then the OpenInference span kind, then the span name)."""
    given = span.get("kind")
    if given in ("agent", "llm", "tool", "guardrail", "other"):
        return given  # type: ignore[return-value]
    attrs: Mapping[str, Any] = span.get("attributes") or {}
    if _is_handoff(str(span.get("name", "")), attrs):
        return "agent"
    by_operation = _BY_OPERATION.get(str(attrs.get(sc.OPERATION_NAME, "")))
    if by_operation is not None:
        return by_operation
    by_openinference = _BY_OPENINFERENCE.get(str(attrs.get(sc.OPENINFERENCE_SPAN_KIND, "")))
    if by_openinference is not None:
        return by_openinference
    if sc.GUARDRAIL_VERDICT in attrs:
        return "guardrail"
    name = str(span.get("name", ""))
    for prefix, kind in _BY_NAME_PREFIX:
        if name.startswith(prefix):
            return kind
    return "other"


@dataclass
class SpanNode:
    """One span and the spans it started, oldest first."""

    span: SpanJSON
    depth: int = 0
    children: list[SpanNode] = field(default_factory=list["SpanNode"])


def build_tree(spans: Sequence[SpanJSON]) -> list[SpanNode]:
    """The root nodes of ``spans``, children oldest first.

    A span whose parent is missing from the trace (the parent never arrived: a crash, or a span
    from another service) becomes a root too, so nothing is hidden.
    """
    nodes = {s["span_id"]: SpanNode(s) for s in spans}
    roots: list[SpanNode] = []
    for span in spans:
        node = nodes[span["span_id"]]
        parent = nodes.get(span.get("parent_span_id") or "")
        if parent is None or parent is node:
            roots.append(node)
        else:
            parent.children.append(node)

    def order(items: list[SpanNode], depth: int) -> None:
        items.sort(key=lambda n: (int(n.span.get("start_time_unix_nano") or 0), n.span["span_id"]))
        for item in items:
            item.depth = depth
            order(item.children, depth + 1)

    order(roots, 0)
    return roots


def walk(roots: Sequence[SpanNode]) -> list[SpanNode]:
    """Every node, depth first: each span followed by what it started."""
    out: list[SpanNode] = []
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(node.children))
    return out


def parse_trace_id(value: str) -> str:
    """A trace id as the store keeps it, from text in any case with surrounding space; ValueError naming it if
    it is not 32 hex digits (the collector answers 400, the client refuses before sending, the CLI says so)."""
    normalised = value.strip().lower()
    if not TRACE_ID_PATTERN.fullmatch(normalised):
        raise ValueError(f"trace id {value!r} is not 32 hex digits")
    return normalised

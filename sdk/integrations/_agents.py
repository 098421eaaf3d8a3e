"""The OpenAI Agents SDK: agents, handoffs and guardrails as spans, function tools as tool boundaries.

- A tracing processor (the SDK's ``TracingProcessor`` API, added next to the SDK's own) turns
  each agent the runner runs into an ``invoke_agent {name}`` span, current while the agent runs
  so its model and tool calls nest under it. An agent that takes over by a handoff carries
  ``tracereel.handoff.from`` (the agent that handed off) and ``tracereel.handoff.target_type=agent``:
  a sub-agent handoff, not a tool call. Input and output guardrails become ``guardrail {name}``
  spans with their verdict (``violation`` when the tripwire triggered).
- Function tools: the invoker the SDK calls for every ``FunctionTool`` is wrapped, so each call
  is an ``execute_tool {name}`` boundary with the arguments the model sent. Under replay the
  recorded result is served, or the recorded exception re-raised into the SDK's own failure
  handling (which turns it into the same message for the model as in the recorded run); the
  tool's body does not run.
- Model calls go through the OpenAI client, instrumented with this integration.

The agents' spans are not replay boundaries (replay looks through them): the app's own
``@tracereel.agent`` entry point is the task replay re-runs.
"""

from __future__ import annotations

import copy
import inspect
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any, cast

from agents import tool as agents_tool
from agents.tracing import Span as AgentsSpan
from agents.tracing import Trace, TracingProcessor, add_trace_processor
from agents.tracing.span_data import AgentSpanData, GuardrailSpanData, HandoffSpanData
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from tracereel import semconv as sc
from tracereel.sdk._runtime import clock_ns, internal_error, tracer
from tracereel.sdk.hooks import boundary

__all__ = ["install"]

_HANDOFF_TARGET_AGENT = "agent"


class _Processor(TracingProcessor):
    """Mirrors the Agents SDK's agent, handoff and guardrail spans as tracereel spans."""

    def __init__(self) -> None:
        self.enabled = True
        self._lock = threading.Lock()
        self._spans: dict[str, Span] = {}
        self._tokens: dict[str, object] = {}
        # (trace id, agent handed to) -> the agent that handed off, until the new agent starts
        self._handoffs: dict[tuple[str, str], str] = {}

    def on_trace_start(self, trace: Trace) -> None:
        pass

    def on_trace_end(self, trace: Trace) -> None:
        with self._lock:
            for key in [k for k in self._handoffs if k[0] == trace.trace_id]:
                del self._handoffs[key]

    def on_span_start(self, span: AgentsSpan[Any]) -> None:
        if not self.enabled:
            return
        try:
            data = span.span_data
            if isinstance(data, AgentSpanData):
                self._start_agent(span, data)
            elif isinstance(data, GuardrailSpanData):
                attrs = {sc.GUARDRAIL_NAME: data.name}
                started = tracer().start_span(f"guardrail {data.name}", attributes=attrs, start_time=clock_ns())
                with self._lock:
                    self._spans[span.span_id] = started
        except Exception:
            internal_error("mirroring an Agents SDK span")

    def _start_agent(self, span: AgentsSpan[Any], data: AgentSpanData) -> None:
        attrs: dict[str, Any] = {sc.OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.AGENT_NAME: data.name}
        with self._lock:
            handed_by = self._handoffs.pop((span.trace_id, data.name), None)
        if handed_by is not None:
            attrs[sc.HANDOFF_FROM] = handed_by
            attrs[sc.HANDOFF_TARGET_TYPE] = _HANDOFF_TARGET_AGENT
        started = tracer().start_span(f"{sc.OP_INVOKE_AGENT} {data.name}", attributes=attrs, start_time=clock_ns())
        # Current while the agent runs (the SDK starts and finishes its agent span in one context),
        # so the model and tool calls it makes are its children.
        token = otel_context.attach(trace.set_span_in_context(started))
        with self._lock:
            self._spans[span.span_id] = started
            self._tokens[span.span_id] = token

    def on_span_end(self, span: AgentsSpan[Any]) -> None:
        try:
            data = span.span_data
            if isinstance(data, HandoffSpanData):
                if self.enabled and data.from_agent and data.to_agent:
                    with self._lock:
                        self._handoffs[(span.trace_id, data.to_agent)] = data.from_agent
                return
            with self._lock:
                started = self._spans.pop(span.span_id, None)
                token = self._tokens.pop(span.span_id, None)
            if token is not None:
                otel_context.detach(token)  # type: ignore[arg-type]
            if started is None:
                return
            if isinstance(data, GuardrailSpanData):
                verdict = sc.VERDICT_VIOLATION if data.triggered else sc.VERDICT_PASS
                started.set_attribute(sc.GUARDRAIL_VERDICT, verdict)
            error = span.error
            if error is not None:
                started.set_status(Status(StatusCode.ERROR, str(error.get("message", ""))))
            started.end(end_time=clock_ns())
        except Exception:
            internal_error("mirroring an Agents SDK span")

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass


_processor: _Processor | None = None


def _tool_arguments(raw: str) -> dict[str, Any] | None:
    """The model's arguments as keyword names, if they are a JSON object of identifiers."""
    try:
        parsed: Any = json.loads(raw) if raw else {}
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    arguments = cast(dict[Any, Any], parsed)
    if not all(isinstance(k, str) and k.isidentifier() for k in arguments):
        return None
    return {str(k): v for k, v in arguments.items()}


async def _tool_call(name: str, raw: str, run: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``run()`` as the tool boundary ``name``, its arguments being those the model sent."""
    arguments = _tool_arguments(raw)
    if arguments is None:
        arguments = {"input": raw}

    async def body(**_: Any) -> Any:
        return await run()

    # The span records the model's arguments by name, as for a decorated tool function.
    params = [inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD) for k in arguments]
    body.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return await boundary("tool", body, name=name)(**arguments)


def _wrap_invoker(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def __call__(self: Any, ctx: Any, input: str) -> Any:
        impl = self._invoke_tool_impl
        tool = getattr(self, "_function_tool", None)
        name = str(getattr(tool, "name", None) or getattr(ctx, "tool_name", None) or "tool")

        async def recorded(inner_ctx: Any, inner_input: str) -> Any:
            return await _tool_call(name, inner_input, lambda: impl(inner_ctx, inner_input))

        # The SDK's own failure handling stays around the boundary: a recorded exception served
        # on replay becomes the same message for the model as the live one did.
        proxy = copy.copy(self)
        proxy._invoke_tool_impl = recorded
        return await original(proxy, ctx, input)

    __call__.__tracereel_original__ = original  # type: ignore[attr-defined]
    return __call__


def install() -> Callable[[], None]:
    """Instrument the Agents SDK; returns the undo."""
    global _processor
    if _processor is None:
        _processor = _Processor()
        add_trace_processor(_processor)  # the SDK has no way to remove one: undo disables it
    processor = _processor
    processor.enabled = True
    invoker: Any = agents_tool._FailureHandlingFunctionToolInvoker  # type: ignore[attr-defined]
    original = invoker.__dict__["__call__"]
    patched = _wrap_invoker(original)
    invoker.__call__ = patched

    def undo() -> None:
        processor.enabled = False
        if invoker.__dict__.get("__call__") is patched:
            invoker.__call__ = original

    return undo
